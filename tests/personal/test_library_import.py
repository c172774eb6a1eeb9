"""Reading a library to import: every place reference managers put an arXiv id in BibTeX, pasted lists in any form,
malformed entries named, and the bound on size. Parsing only: importing into a collection is tested through the
pages and the API (tests/web/test_collection_pages.py)."""

from __future__ import annotations

import pytest

from paperboard.personal.library_import import (
    MAX_IMPORT_CHARACTERS,
    Candidate,
    ImportTooLarge,
    candidates_from_bibtex,
    candidates_from_ids,
    parse_library,
)

BIBTEX = r"""
@article{eprint, title={A}, eprint={2506.03781}, archivePrefix={arXiv}, primaryClass={cs.CL}}
@misc{eprinttype, title={B}, eprint={hep-th/9901001v2}, eprinttype={arxiv}}
@inproceedings{url, title={C}, url={https://arxiv.org/pdf/2401.00002v3.pdf}}
@misc{doi, title={D}, doi={10.48550/arXiv.2312.00003}}
@article{journal, title={E}, journal={arXiv preprint arXiv:2310.00004}}
@misc{note, title={F}, note = "arXiv:2309.00005 [cs.LG]"}
@article{pubmed, title={G}, eprint={12345678}, archivePrefix={PubMed}}
@book{nothing, title={H}, publisher={Somebody}}
@comment{this is not an entry}
@misc{broken, title = {never closed
@misc{after, eprint={2308.00006}}
"""


def test_every_field_reference_managers_use_gives_the_id_and_the_rest_are_named():
    assert candidates_from_bibtex(BIBTEX) == [
        Candidate("eprint", "2506.03781"),
        Candidate("eprinttype", "hep-th/9901001"),
        Candidate("url", "2401.00002"),
        Candidate("doi", "2312.00003"),
        Candidate("journal", "2310.00004"),
        Candidate("note", "2309.00005"),
        Candidate("pubmed", None, "has no arXiv id (eprint, url, doi or journal field)"),
        Candidate("nothing", None, "has no arXiv id (eprint, url, doi or journal field)"),
        Candidate("after", "2308.00006"),
        Candidate("broken", None, "is not valid BibTeX (an unclosed brace or quote?)"),
    ]


def test_a_pasted_list_takes_any_form_one_line_each():
    pasted = "\n".join(
        [
            "2506.03781",
            "  arXiv:2506.03782v2 [cs.CL]  ",
            "https://huggingface.co/papers/2506.03783",
            "",
            "see https://arxiv.org/abs/2506.03784, it is good",
            "2506.99",
        ]
    )
    assert candidates_from_ids(pasted) == [
        Candidate("2506.03781", "2506.03781"),
        Candidate("arXiv:2506.03782v2 [cs.CL]", "2506.03782"),
        Candidate("https://huggingface.co/papers/2506.03783", "2506.03783"),
        Candidate("see https://arxiv.org/abs/2506.03784, it is good", "2506.03784"),
        Candidate("2506.99", None, "is not an arXiv id or address"),
    ]


def test_the_text_is_bounded():
    with pytest.raises(ImportTooLarge, match="at most 1,000,000"):
        parse_library("1" * (MAX_IMPORT_CHARACTERS + 1), "ids")
