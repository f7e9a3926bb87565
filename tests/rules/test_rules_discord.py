"""Discord: files within the server's upload limit, which the account's ``upload_limit_mib`` raises."""

from __future__ import annotations

import pytest

from promo.errors import ConfigError
from promo.platforms.registry import rules_for
from promo.posts import Media, Part, Post

MIB = 1024 * 1024


def clip(size: int, name: str = "trailer.mp4") -> Media:
    return Media(f"/campaign/{name}", "the trailer", size, "video/mp4")


def problems(options: dict | None, *media: Media) -> list[str]:
    report = rules_for("discord", options).check(Post("discord", "acct", (Part("The trailer", media),)))
    return [p.message for p in report.problems]


@pytest.mark.parametrize(("options", "size", "refused"), [
    (None, 10 * MIB, False),                          # a server without boosts: 10 MiB a file
    (None, 10 * MIB + 1, True),
    ({"upload_limit_mib": 50}, 49 * MIB, False),      # boost level 2
    ({"upload_limit_mib": 50}, 51 * MIB, True),
    ({"upload_limit_mib": 100}, 99 * MIB, False),     # boost level 3
    ({"upload_limit_mib": "100"}, 101 * MIB, True),   # as promo.toml may give it
    ({"upload_limit_mib": 8}, 9 * MIB, True),         # lower than the default, too
])
def test_a_file_is_checked_against_the_accounts_upload_limit(options: dict | None, size: int, refused: bool) -> None:
    found = problems(options, clip(size))
    assert bool(found) is refused
    if refused and options:
        assert found == [f"Discord: video is {size / 1e6:,.1f} MB, the limit is "
                         f"{float(options['upload_limit_mib']) * MIB / 1e6:,.1f} MB (this account's upload_limit_mib)"]
    elif refused:
        assert found[0].endswith("(a boosted server takes more: set upload_limit_mib)")


def test_every_kind_of_file_follows_the_limit() -> None:
    pdf = Media("/campaign/press-kit.pdf", "press kit", 40 * MIB, "application/pdf")
    poster = Media("/campaign/poster.png", "poster", 40 * MIB, "image/png")
    assert problems({"upload_limit_mib": 100}, pdf, poster) == []
    assert [message.split(" is ")[0] for message in problems(None, pdf, poster)] == [
        "Discord: press-kit.pdf", "Discord: poster.png"]


def test_the_whole_request_must_fit_too() -> None:
    assert problems(None, clip(8 * MIB, "a.mp4"), clip(8 * MIB, "b.mp4"), clip(8 * MIB, "c.mp4")) == []
    over = problems(None, *(clip(9 * MIB, f"{n}.mp4") for n in range(3)))
    assert over == ["Discord: the message with its files is 27.0 MiB, over the 25 MiB upload limit "
                    "(a boosted server takes more: set upload_limit_mib)"]
    assert problems({"upload_limit_mib": 50}, *(clip(9 * MIB, f"{n}.mp4") for n in range(3))) == []


@pytest.mark.parametrize("bad", ["lots", 0, -5, True, [50], float("nan")])
def test_a_bad_upload_limit_is_one_clear_line(bad: object) -> None:
    with pytest.raises(ConfigError, match=r"^discord upload_limit_mib must be a positive number of MiB, not "):
        rules_for("discord", {"upload_limit_mib": bad})
