from django.urls import path, re_path

from . import complaint_views, customer_views, testimonial_views, views

app_name = "support"

urlpatterns = [
    path("contact/", views.contact, name="contact"),
    path("contact/prefill/", views.contact_prefill, name="contact_prefill"),
    path("contact/t/<str:public_id>", views.thread, name="thread"),
    path("admin/support/desk/", views.desk_queue, name="desk"),
    path("admin/support/desk/<int:pk>/", views.desk_ticket, name="desk_ticket"),
    re_path(
        r"^admin/support/desk/(?P<pk>[0-9]+)/(?P<action>reply|update|note)/$",
        views.desk_ticket_act,
        name="desk_ticket_act",
    ),
    path("accounts/complaints/", complaint_views.complaint_list, name="complaints"),
    path("accounts/complaints/new/", complaint_views.complaint_new, name="complaint_new"),
    path("accounts/complaints/<str:public_id>/", complaint_views.complaint_detail, name="complaint"),
    path(
        "accounts/complaints/<str:public_id>/reopen/",
        complaint_views.complaint_reopen,
        name="complaint_reopen",
    ),
    path(
        "accounts/complaints/<str:public_id>/files/<int:pk>/",
        complaint_views.complaint_attachment,
        name="complaint_attachment",
    ),
    path("admin/support/complaints/", complaint_views.desk_complaints, name="desk_complaints"),
    path("admin/support/complaints/<int:pk>/", complaint_views.desk_complaint, name="desk_complaint"),
    path(
        "admin/support/complaints/<int:pk>/files/<int:attachment_id>/",
        complaint_views.desk_complaint_attachment,
        name="desk_complaint_attachment",
    ),
    re_path(
        r"^admin/support/complaints/(?P<pk>[0-9]+)/(?P<action>answer|update)/$",
        complaint_views.desk_complaint_act,
        name="desk_complaint_act",
    ),
    path("accounts/testimonials/", testimonial_views.testimonial_list, name="testimonials"),
    path("accounts/testimonials/new/", testimonial_views.testimonial_new, name="testimonial_new"),
    path("accounts/testimonials/<str:public_id>/", testimonial_views.testimonial_detail, name="testimonial"),
    re_path(
        r"^accounts/testimonials/(?P<public_id>[\w-]+)/(?P<action>accept|refuse|withdraw)/$",
        testimonial_views.testimonial_act,
        name="testimonial_act",
    ),
    path(
        "accounts/testimonials/<str:public_id>/photo/",
        testimonial_views.testimonial_own_photo,
        name="testimonial_own_photo",
    ),
    path(
        "testimonials/<str:public_id>/<str:version>.jpg",
        testimonial_views.testimonial_public_photo,
        name="testimonial_photo",
    ),
    path("admin/support/testimonials/", testimonial_views.desk_testimonials, name="desk_testimonials"),
    path("admin/support/testimonials/<int:pk>/", testimonial_views.desk_testimonial, name="desk_testimonial"),
    path(
        "admin/support/testimonials/<int:pk>/photo/",
        testimonial_views.desk_testimonial_photo,
        name="desk_testimonial_photo",
    ),
    re_path(
        r"^admin/support/testimonials/(?P<pk>[0-9]+)/(?P<action>approve|reject|propose)/$",
        testimonial_views.desk_testimonial_act,
        name="desk_testimonial_act",
    ),
    path("admin/support/customers/", customer_views.desk_customers, name="desk_customers"),
    path("admin/support/customers/org/<int:pk>/", customer_views.desk_customer_org, name="desk_customer_org"),
    path(
        "admin/support/customers/user/<int:pk>/", customer_views.desk_customer_user, name="desk_customer_user"
    ),
    path(
        "admin/support/customers/file/<int:pk>/", customer_views.desk_customer_file, name="desk_customer_file"
    ),
    re_path(
        r"^admin/support/customers/file/(?P<pk>[0-9]+)/(?P<action>update|contact|note)/$",
        customer_views.desk_customer_act,
        name="desk_customer_act",
    ),
    path(
        "admin/support/customers/file/<int:pk>/contacts/<int:contact_id>/remove/",
        customer_views.desk_customer_contact_remove,
        name="desk_customer_contact_remove",
    ),
]
