"""The room's interface for large meetings, in real Chromium pages: keyboard shortcuts, the participants
panel with raised hands in order, pinning, pages of 25 tiles, full screen, and a 390 px wide phone."""

from .room_helpers import decoding_from_all, open_room, wait_until

WIDE = {"viewport": {"width": 1280, "height": 800}}


def _string(page, key: str) -> str:
    return page.evaluate(f"JSON.parse(document.getElementById('room-strings').textContent)[{key!r}]")


def _people(page) -> list[str]:
    return page.locator("#people-list .person-name").all_text_contents()


def _no_horizontal_scroll(page, width: int) -> bool:
    return page.evaluate("document.scrollingElement.scrollWidth") <= width


def test_shortcuts_participants_hands_and_pinning_at_1280_and_390_px(meeting, browser, server, contexts):
    olga = open_room(
        browser,
        server,
        meeting.organiser_link(),
        name="Olga",
        contexts=contexts,
        join=False,
        context_args=WIDE,
    )
    # The join screen keeps the site's slim header; the call itself is full screen.
    assert olga.is_visible(".site-header")
    olga.click("#join-button")
    olga.wait_for_selector("#room-app[data-state=in-room]")
    assert olga.is_hidden(".site-header") and olga.is_hidden(".main-nav") and olga.is_hidden(".site-footer")
    ben = open_room(browser, server, meeting.link(0), name="Ben", contexts=contexts, context_args=WIDE)
    chloe = open_room(browser, server, meeting.link(1), name="Chloé", contexts=contexts, context_args=WIDE)
    for page in (olga, ben, chloe):
        wait_until(lambda p=page: decoding_from_all(p, 2), message="everyone decodes everyone")

    # M mutes: the button says so, and the others see it on the tile and in the panel.
    assert ben.get_attribute("#mic-button", "aria-pressed") == "false"
    ben.keyboard.press("m")
    assert ben.get_attribute("#mic-button", "aria-pressed") == "true"
    ben_tile = olga.locator(".tile[data-kind=camera]:not(.local)", has_text="Ben")
    wait_until(lambda: "is-muted" in ben_tile.get_attribute("class"), timeout=5, message="Ben muted for Olga")
    # While typing, letters are text, not shortcuts.
    ben.click("#chat-toggle")
    ben.type("#chat-input", "mmm")
    assert ben.get_attribute("#mic-button", "aria-pressed") == "true"
    assert ben.input_value("#chat-input") == "mmm"
    ben.keyboard.press("Escape")
    wait_until(lambda: ben.is_hidden("#side"), timeout=2, message="Escape closes the chat")
    assert ben.evaluate("document.activeElement.id") == "chat-toggle"

    # Hands: Chloé raises hers first, then Ben; the organiser's panel lists them first, in that order.
    chloe.keyboard.press("h")
    assert chloe.get_attribute("#hand-button", "aria-pressed") == "true"
    olga.locator(".tile", has_text="Chloé").locator(".hand").wait_for(state="visible", timeout=5000)
    ben.keyboard.press("h")
    olga.keyboard.press("p")
    olga.wait_for_selector("#people-panel:not([hidden])")
    assert olga.get_attribute("#people-toggle", "aria-expanded") == "true"
    wait_until(
        lambda: _people(olga)[:2] == ["Chloé", "Ben"], timeout=5, message=f"hands in order: {_people(olga)}"
    )
    assert _people(olga)[2] == _string(olga, "you_label").replace("%(name)s", "Olga")
    ben_row = olga.locator("#people-list .person", has_text="Ben")
    assert ben_row.locator(f"[aria-label='{_string(olga, 'mic_off')}']").count() == 1
    # The organiser's controls are in the panel; a participant's panel has none of them.
    assert ben_row.locator("[data-act=remove]").count() == 1
    assert olga.locator("#people-list .person", has_text="Chloé").locator("[data-act=mute]").count() == 1
    ben.keyboard.press("p")
    ben.wait_for_selector("#people-panel:not([hidden])")
    wait_until(lambda: len(_people(ben)) == 3, timeout=5, message="Ben sees three names")
    assert ben.locator("#people-list [data-act=remove], #people-list [data-act=mute]").count() == 0
    # Chloé lowers her hand: Ben's is first now.
    chloe.keyboard.press("h")
    wait_until(lambda: _people(olga)[0] == "Ben", timeout=5, message="lowered hand leaves the top")

    # Pinning from the panel puts Chloé's tile in the featured slot; pinning again gives the grid back.
    olga.locator("#people-list .person", has_text="Chloé").locator("[data-act=pin]").click()
    featured = olga.locator("#stage .tile.featured")
    assert featured.count() == 1 and "Chloé" in featured.text_content()
    assert olga.locator("#stage.speaker-view").count() == 1
    assert olga.get_attribute("#view-button", "aria-pressed") == "true"
    # The tile's own pin button unpins.
    featured.hover()
    featured.locator("[data-act=pin]").click()
    assert (
        olga.locator("#stage.grid-view").count() == 1 and olga.locator("#stage .tile.featured").count() == 0
    )
    # L switches to the speaker view and back.
    olga.keyboard.press("Escape")
    olga.keyboard.press("l")
    assert (
        olga.locator("#stage.speaker-view").count() == 1
        and olga.locator("#stage .filmstrip .tile").count() == 2
    )
    olga.keyboard.press("l")
    assert olga.locator("#stage.grid-view").count() == 1

    # Devices switch inside the call: another microphone replaces the one every connection sends.
    olga.click("#settings-button")
    olga.wait_for_selector("#settings-dialog[open]")
    mics = olga.locator("#settings-mic option").all_text_contents()
    current = olga.evaluate("document.getElementById('settings-mic').selectedOptions[0]?.text")
    other = next(label for label in mics if label != current and label != "Default")
    olga.select_option("#settings-mic", label=other)
    wait_until(
        lambda: (
            olga.evaluate(
                "window.__pcs.filter(pc => pc.connectionState !== 'closed').flatMap(pc => pc.getSenders())"
                ".filter(s => s.track && s.track.kind === 'audio').map(s => s.track.label)"
            )
            == [other, other]
        ),
        timeout=5,
        message="the new microphone in both connections",
    )
    assert olga.get_attribute("#mic-button", "aria-pressed") == "false"
    olga.keyboard.press("m")  # the dialog is modal: no shortcut behind it
    assert olga.get_attribute("#mic-button", "aria-pressed") == "false"
    olga.keyboard.press("Escape")
    olga.wait_for_selector("#settings-dialog:not([open])", state="attached")

    # ? opens the list of shortcuts, Escape closes it.
    olga.keyboard.press("?")
    olga.wait_for_selector("#shortcuts-dialog[open]")
    assert olga.locator("#shortcuts-dialog kbd", has_text="M").count() >= 1
    olga.keyboard.press("Escape")
    olga.wait_for_selector("#shortcuts-dialog:not([open])", state="attached")
    # Every toolbar button has a name, and toggles say their state.
    names = olga.evaluate(
        "[...document.querySelectorAll('.controls button')].map(b => b.querySelector('.label')?.textContent.trim()"
        " || b.getAttribute('aria-label'))"
    )
    assert all(names), names
    assert olga.locator(".controls .tool svg use").count() >= 12  # icons, not emoji
    assert _no_horizontal_scroll(olga, 1280)

    # A phone, 390 px wide: no horizontal scroll, the main buttons in reach, the others under "More".
    olga.set_viewport_size({"width": 390, "height": 844})
    wait_until(lambda: _no_horizontal_scroll(olga, 390), timeout=3, message="no horizontal scroll at 390 px")
    for button in (
        "#mic-button",
        "#camera-button",
        "#hand-button",
        "#people-toggle",
        "#chat-toggle",
        "#more-button",
        "#leave-button",
    ):
        box = olga.locator(button).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, (button, box)
    assert olga.is_hidden("#lock-button")
    olga.click("#more-button")
    olga.wait_for_selector("#lock-button", state="visible")
    assert olga.evaluate(
        "document.activeElement.closest('#tools-extra') !== null"
    )  # the menu takes the focus
    olga.keyboard.press("Escape")
    olga.wait_for_selector("#lock-button", state="hidden")
    assert olga.evaluate("document.activeElement.id") == "more-button"
    # The participants panel becomes a full-width sheet.
    olga.keyboard.press("p")
    olga.wait_for_selector("#people-panel:not([hidden])")
    box = olga.locator("#side").bounding_box()
    assert box["x"] == 0 and box["width"] == 390, box
    assert len(_people(olga)) == 3 and _no_horizontal_scroll(olga, 390)
    olga.keyboard.press("Escape")
    olga.wait_for_selector("#side", state="hidden")

    # Leaving needs Ctrl+Shift+L: L alone switches the layout.
    chloe.keyboard.press("Control+Shift+L")
    chloe.wait_for_selector("#room-app[data-state=ended]", timeout=5000)
    wait_until(lambda: len(olga.locator("#stage .tile[data-kind=camera]").all()) == 2, message="Chloé left")


def test_a_grid_holds_25_tiles_a_page_and_a_pager_turns_them(meeting, browser, server, contexts):
    page = open_room(browser, server, meeting.link(0), name="Ana", contexts=contexts, context_args=WIDE)
    page.wait_for_selector("#room-app[data-state=in-room]")
    # The room's own layout code, on 26 synthetic tiles in a stage of the page's size.
    pages = page.evaluate(
        """(async () => {
          const { Stage } = await import(document.querySelector('script[src$="room/room.js"]').src.replace('room.js', 'tiles.js'));
          const root = document.createElement('div');
          root.className = 'stage grid-view';
          root.id = 'synthetic-stage';
          document.querySelector('.room-body').prepend(root);
          document.getElementById('stage').hidden = true;
          const stage = new Stage(root, document.getElementById('tile-template'));
          for (let i = 0; i < 26; i++) stage.tile(`p${i}`, 'camera');
          const shown = () => [...root.querySelectorAll('.tile')].filter((t) => t.offsetParent !== null).map((t) => t.dataset.pid);
          const pager = root.querySelector('.pager');
          const first = { shown: shown(), pager: !pager.hidden, label: pager.textContent };
          pager.querySelectorAll('button')[1].click();
          const second = { shown: shown(), label: pager.textContent };
          stage.drop('p25');
          const after = { shown: shown().length, pager: !pager.hidden };
          stage.pin('p3:camera');
          const pinned = { featured: root.querySelector('.stage-main .tile.featured')?.dataset.pid, strip: root.querySelectorAll('.filmstrip .tile').length };
          const tile = root.querySelector('.tile').getBoundingClientRect();
          return { first, second, after, pinned, within: tile.right <= innerWidth };
        })()"""
    )
    assert (
        pages["first"]["pager"] and len(pages["first"]["shown"]) == 25 and "1 / 2" in pages["first"]["label"]
    )
    assert pages["second"]["shown"] == ["p25"] and "2 / 2" in pages["second"]["label"]
    assert pages["after"] == {"shown": 25, "pager": False}
    assert pages["pinned"] == {"featured": "p3", "strip": 24}
    assert pages["within"]
    # The uplink warning: most peers losing what we send, or waiting long for it; not one bad line.
    verdicts = page.evaluate(
        """(async () => {
          const { uplinkPoor } = await import(document.querySelector('script[src$="room/room.js"]').src.replace('room.js', 'stats.js'));
          const good = { remoteLoss: 0, rttMs: 20 }, lossy = { remoteLoss: 25, rttMs: 30 }, slow = { remoteLoss: 0, rttMs: 1200 };
          return [uplinkPoor([good, good]), uplinkPoor([lossy, good, good]), uplinkPoor([lossy, slow, good]), uplinkPoor([])];
        })()"""
    )
    assert verdicts == [False, False, True, False]
    warning = page.locator("#network-warning")
    assert warning.is_hidden() and warning.evaluate("w => w.closest('[role=status]') !== null")
    assert _no_horizontal_scroll(page, 1280)
