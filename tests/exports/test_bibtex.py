"""BibTeX of papers, read back by pybtex, which counts braces as BibTeX does: fields, names, keys, escaping."""

from __future__ import annotations

import random
from datetime import datetime

import pytest
from pybtex.database import parse_string

from paperboard.db.models import Paper, PaperCategory
from paperboard.exports.bibtex import bibtex_entry, bibtex_file, citation_key, latex_text


def paper(arxiv_id: str = "1706.03762", **fields: object) -> Paper:
    """A paper as the catalogue stores it, not saved anywhere: the export reads only its attributes."""
    categories = fields.pop("categories", ["cs.CL", "cs.LG"])
    values: dict[str, object] = {
        "arxiv_id": arxiv_id,
        "title": "Attention Is All You Need",
        "abstract": "The dominant sequence transduction models are based on recurrent networks.",
        "authors": ["Ashish Vaswani", "Noam Shazeer", "Niki Parmar"],
        "published_at": datetime(2017, 6, 12, 17, 57),
        "doi": None,
    }
    values.update(fields)
    stored = Paper(**values)
    stored.categories = [PaperCategory(position=position, category=name) for position, name in enumerate(categories)]
    return stored


def parsed(text: str):
    return parse_string(text, "bibtex")


def test_an_entry_carries_the_arxiv_fields_that_biblatex_and_natbib_read():
    entry = parsed(bibtex_entry(paper(doi="10.48550/arXiv.1706.03762"))).entries["vaswani2017attention"]

    assert entry.type == "misc"
    assert dict(entry.fields) == {
        "title": "{Attention Is All You Need}",
        "year": "2017",
        "month": "June",  # the `jun` macro, which pybtex expands as BibTeX does
        "eprint": "1706.03762",
        "archivePrefix": "arXiv",
        "primaryClass": "cs.CL",
        "url": "https://arxiv.org/abs/1706.03762",
        "doi": "10.48550/arXiv.1706.03762",
    }
    assert [str(person) for person in entry.persons["author"]] == ["Vaswani, Ashish", "Shazeer, Noam", "Parmar, Niki"]


def test_an_entry_without_doi_category_or_authors_leaves_those_fields_out():
    entry = parsed(bibtex_entry(paper(doi=None, categories=[], authors=[])))
    (key,) = entry.entries
    fields = entry.entries[key].fields

    assert key == "arxiv2017attention"
    assert "doi" not in fields and "primaryClass" not in fields
    assert not entry.entries[key].persons


def test_old_style_ids_keep_their_slash_in_the_eprint():
    entry = parsed(bibtex_entry(paper("hep-th/9901001", categories=["hep-th"]))).entries["vaswani2017attention"]

    assert entry.fields["eprint"] == "hep-th/9901001"
    assert entry.fields["url"] == "https://arxiv.org/abs/hep-th/9901001"
    assert entry.fields["primaryClass"] == "hep-th"


@pytest.mark.parametrize(
    ("authors", "title", "year", "expected"),
    [
        (["Ashish Vaswani"], "Attention Is All You Need", 2017, "vaswani2017attention"),
        (["Jürgen Müller"], "On the Origin of Species", 2025, "muller2025origin"),
        (["Łukasz Kaiser"], "The Ørsted Effect", 2024, "kaiser2024orsted"),
        (["Martin Luther King Jr."], "A Dream", 2020, "king2020dream"),
        (["Turing, Alan"], "Computing Machinery", 1950, "turing1950computing"),
        (["李 小龙"], r"$\mathcal{O}(n)$ \emph{Linear} Attention", 2023, "arxiv2023linear"),
        (["Ada Lovelace"], "$x^2$", 2023, "lovelace2023"),
    ],
)
def test_keys_are_surname_year_and_first_significant_title_word_in_ascii(authors, title, year, expected):
    assert citation_key(paper(authors=authors, title=title, published_at=datetime(year, 1, 1))) == expected


def test_colliding_keys_get_letters_by_arxiv_id_whatever_the_order_of_the_file():
    first = paper("2506.00001", authors=["Wei Li"], title="Attention Everywhere", published_at=datetime(2025, 6, 1))
    second = paper("2506.00002", authors=["Min Li"], title="Attention Anywhere", published_at=datetime(2025, 6, 2))
    third = paper("2506.00003", authors=["Li Li"], title="Attention Somewhere", published_at=datetime(2025, 6, 3))
    other = paper("2506.00004", authors=["Ann Smith"], title="Something Else", published_at=datetime(2025, 6, 4))

    in_order = parsed(bibtex_file([first, second, third, other]))
    reordered = parsed(bibtex_file([other, third, first, second]))

    expected = {
        "li2025attention": "2506.00001",
        "li2025attentiona": "2506.00002",
        "li2025attentionb": "2506.00003",
        "smith2025something": "2506.00004",
    }
    assert {key: entry.fields["eprint"] for key, entry in in_order.entries.items()} == expected
    assert {key: entry.fields["eprint"] for key, entry in reordered.entries.items()} == expected
    assert list(reordered.entries) == ["smith2025something", "li2025attentionb", "li2025attention", "li2025attentiona"]


def test_a_lettered_key_steps_over_another_papers_own_key():
    papers = [
        paper("2506.00001", authors=["Wei Li"], title="Attention", published_at=datetime(2025, 6, 1)),
        paper("2506.00002", authors=["Min Li"], title="Attention", published_at=datetime(2025, 6, 1)),
        paper("2506.00003", authors=["Li Li"], title="Attentiona", published_at=datetime(2025, 6, 1)),
    ]

    keys = list(parsed(bibtex_file(papers)).entries)

    assert keys == ["li2025attention", "li2025attentionb", "li2025attentiona"]


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Q&A at 50% for #1 in snake_case", r"Q\&A at 50\% for \#1 in snake\_case"),
        (r"Attention in $\mathcal{O}(n_{i})$ time", r"Attention in $\mathcal{O}(n_{i})$ time"),
        (
            r"Math keeps _ and ^ but not & or %: $a_i^2 & 5%$",
            r"Math keeps \_ and \textasciicircum{} but not \& or \%: $a_i^2 \& 5\%$",
        ),
        (r"Display $$x_1$$ math", r"Display $$x_1$$ math"),
        ("A lone $5 dollar", r"A lone \$5 dollar"),
        (r"Already escaped: Q\&A, 5\%, \$", r"Already escaped: Q\&A, 5\%, \$"),
        ("Approximately ~3 x < y > z", r"Approximately \textasciitilde{}3 x \textless{} y \textgreater{} z"),
        ("{BERT} and {GPT}", "{BERT} and {GPT}"),
        ("Closing } before { opening", r"Closing \textbraceright{} before \textbraceleft{} opening"),
        (r"A set $\{x \mid x > 0$ unclosed", r"A set $\lbrace{}x \mid x > 0$ unclosed"),
        ("Trailing backslash \\", r"Trailing backslash \textbackslash{}"),
        (r"Accents kept: Schr\"odinger, Erd\H{o}s", r"Accents kept: Schr\"odinger, Erd\H{o}s"),
        ("Unicode stays: Müller, Łódź, 東京", "Unicode stays: Müller, Łódź, 東京"),
    ],
)
def test_latex_specials_are_escaped_outside_math_and_math_is_kept(title, expected):
    assert latex_text(title) == expected


def test_a_hostile_title_stays_inside_its_field():
    hostile = paper(
        title="}}, author = {Mallory}}\n@misc{injected, title = {pwned <script>alert(1)</script> & ]]> {",
        authors=["AT&T Labs", "Science and Technology Team", "Smith, Jr., John", "O'Brien {Brace"],
    )

    library = parsed(bibtex_entry(hostile))

    assert list(library.entries) == ["labs2017author"]
    entry = library.entries["labs2017author"]
    assert entry.fields["eprint"] == "1706.03762" and entry.fields["year"] == "2017"
    assert entry.fields["title"] == (
        # The one balanced pair, {Mallory}, stays a group; every other brace is printed, not counted.
        r"{\textbraceright{}\textbraceright{}, author = {Mallory}\textbraceright{} "
        r"@misc\textbraceleft{}injected, title = \textbraceleft{}pwned \textless{}script\textgreater{}alert(1)"
        r"\textless{}/script\textgreater{} \& ]]\textgreater{} \textbraceleft{}}"
    )
    assert [str(person) for person in entry.persons["author"]] == [
        r"Labs, AT\&T",
        "{Science and Technology Team}",
        "{Smith, Jr., John}",
        r"\textbraceleft{}Brace, O'Brien",
    ]


def test_no_title_or_name_can_unbalance_an_entry():
    """Random titles and names from the characters that matter to BibTeX and LaTeX: every entry parses whole."""
    alphabet = ["{", "}", "\\", "$", "$$", "&", "%", "#", "_", "^", "~", "@", ",", "=", '"', " and ", "a", " ", "é"]
    randomly = random.Random(20250604)
    for number in range(500):
        title = "".join(randomly.choice(alphabet) for _ in range(randomly.randint(1, 30))) + "x"
        name = "".join(randomly.choice(alphabet) for _ in range(randomly.randint(1, 12))) + " Doe"
        text = bibtex_entry(paper(f"2506.{number:05d}", title=title, authors=[name, "Ann Smith"]), key=f"k{number}")

        entry = parsed(text).entries[f"k{number}"]

        assert entry.fields["eprint"] == f"2506.{number:05d}", text
        assert entry.fields["url"] == f"https://arxiv.org/abs/2506.{number:05d}", text
        assert str(entry.persons["author"][-1]) == "Smith, Ann", text


def test_a_doi_with_braces_or_backslashes_is_percent_encoded():
    entry = parsed(bibtex_entry(paper(doi=r"10.1000/a{b}\c_d"))).entries["vaswani2017attention"]

    assert entry.fields["doi"] == "10.1000/a%7Bb%7D%5Cc_d"


def test_non_ascii_names_stay_utf8():
    text = bibtex_entry(paper(authors=["Jürgen Müller", "Łukasz Kaiser", "李小龙"]))

    assert "author = {Jürgen Müller and Łukasz Kaiser and 李小龙}" in text
    persons = parsed(text).entries["muller2017attention"].persons["author"]
    assert [str(person) for person in persons] == ["Müller, Jürgen", "Kaiser, Łukasz", "李小龙"]
