"""The assistant's widget in Chromium: opened with the keyboard, answering with a source, or offering contact."""

import re


def test_the_assistant_answers_with_its_source_and_offers_contact_when_it_doesnt_know(
    server, page, request_log
):
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.goto(server.url + "/en/")
    toggle = page.get_by_role("button", name="Questions? Ask the assistant")
    toggle.focus()
    page.keyboard.press("Enter")
    question = page.get_by_label("Your question")
    assert question.evaluate("e => e === document.activeElement")
    question.fill("How do I compare the safety code?")
    page.keyboard.press("Enter")
    answer = page.locator(".assistant-answer[aria-live='polite']")
    answer.locator("blockquote").wait_for()
    assert "12 digits" in answer.inner_text()
    source = answer.get_by_role("link")
    assert re.search(r"/en/faq/#safety-code$", source.get_attribute("href"))
    assert page.locator(".assistant-contact").is_hidden()

    question.fill("What is the weather in Paris tomorrow?")
    page.keyboard.press("Enter")
    ask_us = page.get_by_role("button", name="Ask us through the contact form")
    ask_us.wait_for()
    assert (
        page.locator(".assistant-contact input[name=q]").input_value()
        == "What is the weather in Paris tomorrow?"
    )
    ask_us.click()
    page.wait_for_url(re.compile(r"/contact/prefill/"))
    assert "weather in Paris" in page.locator("textarea").first.input_value()

    page.goto(server.url + "/en/")
    page.get_by_role("button", name="Questions? Ask the assistant").click()
    page.keyboard.press("Escape")
    assert page.locator("#assistant-panel").is_hidden()
    assert page.get_by_role("button", name="Questions? Ask the assistant").evaluate(
        "e => e === document.activeElement"
    )
    assert page.context.cookies() == []
    assert request_log.third_party(server.url) == []
    assert not [e for e in errors if "Content Security Policy" in e], errors
