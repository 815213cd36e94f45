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
