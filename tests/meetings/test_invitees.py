from tessera.meetings.invitees import invitee_list_parse


def test_addresses_split_on_commas_semicolons_and_new_lines():
    parsed = invitee_list_parse("a@example.com, b@example.com; c@example.com\nd@example.com\r\ne@example.com")
    assert parsed.emails == [f"{x}@example.com" for x in "abcde"]
    assert parsed.malformed == []


def test_repeats_are_dropped_whatever_their_case():
    parsed = invitee_list_parse("Ana@Example.com; ana@example.com,ANA@EXAMPLE.COM\nben@example.com")
    assert parsed.emails == ["ana@example.com", "ben@example.com"]


def test_malformed_addresses_are_listed_with_their_position():
    parsed = invitee_list_parse(
        "ok@example.com, not-an-address;;\n second@@example.com , fine@example.org, x@y"
    )
    assert parsed.emails == ["ok@example.com", "fine@example.org"]
    assert parsed.malformed == [(2, "not-an-address"), (3, "second@@example.com"), (5, "x@y")]


def test_display_names_keep_only_the_address_and_empty_entries_do_not_count():
    parsed = invitee_list_parse('"Ana B" <ana@example.com>,, ,\n\nben@example.com')
    assert parsed.emails == ["ana@example.com", "ben@example.com"]


def test_overlong_address_is_malformed():
    parsed = invitee_list_parse("a" * 250 + "@example.com")
    assert parsed.malformed and parsed.malformed[0][0] == 1


def test_a_language_tag_sets_that_persons_language_and_an_unknown_one_is_malformed():
    parsed = invitee_list_parse(
        "ana@example.com [en]; Ben <Ben@Example.com> [FR]\nchloe@example.net [de], d@x.org"
    )
    assert parsed.emails == ["ana@example.com", "ben@example.com", "d@x.org"]
    assert parsed.languages == {"ana@example.com": "en", "ben@example.com": "fr"}
    assert parsed.malformed == [(3, "chloe@example.net [de]")]


def test_a_quoted_display_name_may_hold_a_comma_or_a_semicolon():
    parsed = invitee_list_parse(
        '"Doe, Jane" <Jane@X.org>, bob@x.org; "Smith; Al" <al@x.org> [en]\n"Esc \\" q, r" <e@x.org>'
    )
    assert parsed.emails == ["jane@x.org", "bob@x.org", "al@x.org", "e@x.org"]
    assert parsed.malformed == [] and parsed.languages == {"al@x.org": "en"}


def test_bad_entries_next_to_quoted_names_keep_their_positions():
    parsed = invitee_list_parse(
        '"Doe, Jane" <j@x.org>, nope; "Roe, Rick" <rick@>\nok@x.org, Doe, Jo <jo@x.org>'
    )
    assert parsed.emails == ["j@x.org", "ok@x.org", "jo@x.org"]
    # Unquoted, "Doe, Jo" is two entries: the first is no address.
    assert parsed.malformed == [(2, "nope"), (3, '"Roe, Rick" <rick@>'), (5, "Doe")]


def test_a_stray_quote_does_not_swallow_the_rest_of_its_line():
    parsed = invitee_list_parse('"Doe, Jane <j@x.org>, bob@x.org, nope\nlast@x.org')
    assert parsed.emails == ["j@x.org", "bob@x.org", "last@x.org"]
    assert parsed.malformed == [(1, '"Doe'), (4, "nope")]
