"""Correction: Singlish mishearings become tracked words; plain English never does."""

from __future__ import annotations

import pytest

from lahstats.lexicon.lexicon import LexiconEntry, load_lexicon
from lahstats.pipeline.correct import correct
from lahstats.pipeline.types import Word

LEXICON = load_lexicon()


def said(text: str, speaker: str = "A") -> list[Word]:
    """One word per space, 0.3 s each, the way a recogniser returns them."""
    return [
        Word(token, 0.3 * at, 0.3 * at + 0.25, speaker) for at, token in enumerate(text.split())
    ]


def corrected(text: str) -> str:
    return " ".join(word.text for word in correct(said(text), LEXICON))


@pytest.mark.parametrize(
    ("heard", "meant"),
    [
        ("while up", "walao"),
        ("wa lao", "walao"),
        ("cheap buy", "cheebai"),
        ("lunch hour", "lanjiao"),
        ("pie say", "paiseh"),
        ("shook", "shiok"),
        ("la", "lah"),
        ("low", "lor"),
    ],
)
def test_floor_table(heard: str, meant: str) -> None:
    assert corrected(heard) == meant


@pytest.mark.parametrize(
    ("heard", "meant"),
    [
        ("Well lau, so long the queue.", "Walao, so long the queue."),  # by sound, across words
        ("You so kiosy for what?", "You so kiasi for what?"),  # a made-up spelling
        ("Don't bhoji ho, okay?", "Don't bojio, okay?"),
        ("Go Maxwell lot, the rice there.", "Go Maxwell lah, the rice there."),  # clause end
        ("Got bonus met, somemore.", "Got bonus meh, somemore."),
        ("Boss very bodohla.", "Boss very bodoh lah."),  # run together
        ("Eh, key I see one.", "Eh, kiasi one."),
        ("Yallor, I reach late.", "Ya lor, I reach late."),  # a shared consonant written twice
        ("Alamak, again nah, last week.", "Alamak, again ah, last week."),  # carried-over n
        ("The bonus next month lae.", "The bonus next month leh."),  # "ae" said as in "Mae"
    ],
)
def test_by_sound_and_context(heard: str, meant: str) -> None:
    assert corrected(heard) == meant


@pytest.mark.parametrize(
    "english",
    [
        "I studied law.",
        "We should plan ahead.",
        "Sean went home.",
        "Common all over Asia.",
        "I can't go.",
        "You cannot like that.",
        "Turn it lower, so slow.",
        "Hello there.",
        "I like it a lot.",
        "Oh, I see.",
        "We met at the coffee shop.",
        "His body is fine.",
        "I told her.",
        "She watched La La Land.",
        "Copy the plan.",
        "Take it or not, no?",
        "I got one, no?",  # a carried-over consonant must leave an exact particle ("no" -> "o")
        "Come on, nah.",  # and never carries over a comma
        "Okay, aw.",  # a particle heard without its consonant is an interjection
        "Right, oh.",
        "No way, eh.",
        "We ran now.",
        "Not my mate, Dan.",
        "The tallest ballroom.",
    ],
)
def test_plain_english_stays(english: str) -> None:
    assert corrected(english) == english


@pytest.mark.parametrize(
    ("heard", "meant"),
    [
        ("Give meh the phone.", "Give may the phone."),
        ("Turn it lor down.", "Turn it lore down."),
        ("He sia never come.", "He sea never come."),  # "sea" and "see" sound alike
        ("Really ah the bus came.", "Really ah the bus came."),  # ah counts wherever it stands
        ("Can meh?", "Can meh?"),
        ("So hot sia, lor.", "So hot sia, lor."),
        ("Okay lor lah.", "Okay lor lah."),  # a particle before another ends its clause too
        ("Later you pay or.", "Later you pay hor."),  # hor with its h dropped, at a clause end
        ("Tea or coffee?", "Tea or coffee?"),
    ],
)
def test_particles_count_where_a_clause_ends_only(heard: str, meant: str) -> None:
    assert corrected(heard) == meant


def test_can_not_is_cannot_not_can() -> None:
    assert corrected("You can not like that.") == "You cannot like that."


def test_changed_words_keep_what_was_heard_and_their_span() -> None:
    words = said("okay while up.") + said("la", speaker="B")
    out = correct(words, LEXICON)
    assert [(w.text, w.speaker, w.heard) for w in out] == [
        ("okay", "A", None),
        ("walao.", "A", "while up."),
        ("lah", "B", "la"),
    ]
    assert (out[1].start, out[1].end) == (words[1].start, words[2].end)


def test_words_of_different_speakers_never_merge() -> None:
    words = said("cheap", "A") + said("buy", "B")
    assert [w.text for w in correct(words, LEXICON)] == ["cheap", "buy"]


def test_custom_words_are_corrected_by_their_own_data() -> None:
    lexicon = load_lexicon([LexiconEntry.of("makan", pronunciations=["M AA K AA N"])])
    assert [w.text for w in correct(said("go mah kahn"), lexicon)] == ["go", "makan"]
