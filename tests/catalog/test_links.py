import pytest

from paperboard.catalog.links import find_links


@pytest.mark.parametrize(
    ("text", "code_url", "project_url"),
    [
        ("No links here.", None, None),
        ("Code is available at https://github.com/owner/repo.", "https://github.com/owner/repo", None),
        ("Code: \\url{https://github.com/owner/repo}", "https://github.com/owner/repo", None),
        ("(see https://github.com/owner/repo)", "https://github.com/owner/repo", None),
        ("Code at github.com/owner/repo.git, thanks", "https://github.com/owner/repo", None),
        ("https://github.com/owner/repo/tree/main/sub.", "https://github.com/owner/repo/tree/main/sub", None),
        (
            "https://gitlab.com/group/project and https://owner.github.io/paper/",
            "https://gitlab.com/group/project",
            "https://owner.github.io/paper/",
        ),
        ("Project page: www.example.org/demo; code soon.", None, "https://www.example.org/demo"),
        ("Only a profile: https://github.com/owner", None, None),
        ("Weights on https://huggingface.co/org/model and doi https://doi.org/10.1/x", None, None),
        ("Data: https://zenodo.org/records/1 and https://arxiv.org/abs/2506.03781", None, None),
    ],
)
def test_code_and_project_links_found_in_text(text, code_url, project_url):
    links = find_links(text)
    assert (links.code_url, links.project_url) == (code_url, project_url)


def test_the_first_code_link_wins_across_texts():
    links = find_links("see https://github.com/a/first", None, "and https://github.com/b/second")
    assert links.code_url == "https://github.com/a/first"


def test_comments_are_searched_after_the_abstract():
    links = find_links("An abstract without links.", "12 pages. Code: https://github.com/a/b")
    assert links.code_url == "https://github.com/a/b"
