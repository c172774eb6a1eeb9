import pytest

from paperboard.catalog.ids import ArxivId, InvalidArxivId, parse_arxiv_id


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2506.03781", ArxivId("2506.03781")),
        ("  2506.03781v2 ", ArxivId("2506.03781", 2)),
        ("arXiv:2506.03781v2", ArxivId("2506.03781", 2)),
        ("ARXIV:2506.03781", ArxivId("2506.03781")),
        ("https://arxiv.org/abs/2506.03781", ArxivId("2506.03781")),
        ("http://arxiv.org/abs/2506.03781v1", ArxivId("2506.03781", 1)),
        ("https://arxiv.org/pdf/2506.03781v3.pdf", ArxivId("2506.03781", 3)),
        ("https://arxiv.org/pdf/2506.03781", ArxivId("2506.03781")),
        ("arxiv.org/abs/2506.03781?context=cs", ArxivId("2506.03781")),
        ("https://export.arxiv.org/abs/2506.03781#comments", ArxivId("2506.03781")),
        ("https://www.arxiv.org/html/2506.03781v1/", ArxivId("2506.03781", 1)),
        ("https://huggingface.co/papers/2506.03781", ArxivId("2506.03781")),
        ("https://www.alphaxiv.org/abs/2506.03781", ArxivId("2506.03781")),
        ("10.48550/arXiv.2506.03781", ArxivId("2506.03781")),
        ("https://doi.org/10.48550/arXiv.2506.03781", ArxivId("2506.03781")),
        ("oai:arXiv.org:2506.03781", ArxivId("2506.03781")),
        ("0704.0001", ArxivId("0704.0001")),
        ("1412.9999v4", ArxivId("1412.9999", 4)),
        ("hep-th/9901001", ArxivId("hep-th/9901001")),
        ("hep-th/9901001v3", ArxivId("hep-th/9901001", 3)),
        ("math.GT/0309136", ArxivId("math/0309136")),
        ("https://arxiv.org/abs/cond-mat/0102536v1", ArxivId("cond-mat/0102536", 1)),
        ("oai:arXiv.org:cs/0112017", ArxivId("cs/0112017")),
    ],
)
def test_every_pasted_form_normalises_to_the_canonical_id(text, expected):
    assert parse_arxiv_id(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("hello", "not an arXiv id"),
        ("2513.00001", "month 13"),
        ("0703.0001", "April 2007"),
        ("1412.00001", "digits"),
        ("1501.0001", "digits"),
        ("2506.03781v0", "v1"),
        ("2506.037811", "not an arXiv id"),
        ("https://arxiv.org/list/cs.CL/new", "not one of a paper"),
        ("https://github.com/owner/repo", "not an arXiv id"),
        ("hep-th/9913001", "month 13"),
        ("x" * 400, "too long"),
        ("2506.03781; DROP TABLE papers", "not an arXiv id"),
        # Text that looks like a host in brackets, as pasted lists and BibTeX notes hold (`[cs.LG]`).
        ("[cs.LG]", "not an arXiv id"),
        ("https://[::1", "not an arXiv id"),
    ],
)
def test_malformed_ids_are_refused_with_a_reason(text, reason):
    with pytest.raises(InvalidArxivId, match=reason):
        parse_arxiv_id(text)


def test_non_text_is_refused():
    with pytest.raises(InvalidArxivId, match="text"):
        parse_arxiv_id(2506.03781)  # type: ignore[arg-type]


def test_urls_and_display():
    paper = parse_arxiv_id("arXiv:hep-th/9901001v2")
    assert paper.abs_url == "https://arxiv.org/abs/hep-th/9901001"
    assert paper.pdf_url == "https://arxiv.org/pdf/hep-th/9901001"
    assert str(paper) == "hep-th/9901001v2"
