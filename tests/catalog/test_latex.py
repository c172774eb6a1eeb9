"""The LaTeX of titles and abstracts as pages (HTML, formulas left to KaTeX) and plain text show it."""

from __future__ import annotations

import pytest

from paperboard.catalog.latex import to_html, to_plain


@pytest.mark.parametrize(
    ("latex", "html", "plain"),
    [
        (r"\textbf{policy efficiency}", "<strong>policy efficiency</strong>", "policy efficiency"),
        (r"51.4\% \& 3\#", "51.4% &amp; 3#", "51.4% & 3#"),
        (r"\emph{all} \textit{x} \textsl{y}", "<em>all</em> <em>x</em> <em>y</em>", "all x y"),
        (r"\textsc{Sota}", '<span class="small-caps">Sota</span>', "Sota"),
        (r"\texttt{pip} \underline{u}", "<code>pip</code> <u>u</u>", "pip u"),
        (r"{\bf bold \it both} plain", "<strong>bold <em>both</em></strong> plain", "bold both plain"),
        ("Fig.~3", "Fig.\u00a03", "Fig.\u00a03"),
        (r"1--2, a---b, ``quoted''", "1–2, a—b, “quoted”", "1–2, a—b, “quoted”"),
        (
            r"Schr\"odinger, \'{e}t\'e, Erd\H{o}s, \c{c}a, na\"\i ve, G\"{o}del, \ss, \o",
            "Schrödinger, été, Erdős, ça, naïve, Gödel, ß, ø",
            "Schrödinger, été, Erdős, ça, naïve, Gödel, ß, ø",
        ),
        (
            r"see \url{https://github.com/a/b_c}",
            'see <a href="https://github.com/a/b_c" rel="nofollow">https://github.com/a/b_c</a>',
            "see https://github.com/a/b_c",
        ),
        (
            r"\href{https://x.org/?a=1&b=2}{our \emph{site}}",
            '<a href="https://x.org/?a=1&amp;b=2" rel="nofollow">our <em>site</em></a>',
            "our site",
        ),
        # Only web addresses become links.
        (r"\href{javascript:alert(1)}{bad}", "bad", "bad"),
        # Formulas: their source, escaped, for KaTeX; in plain text, simple scripts in Unicode, otherwise the TeX.
        ("D$^{2}$R$^{2}$OSR", "D$^{2}$R$^{2}$OSR", "D²R²OSR"),
        (r"$x_{ij}^{-1}$ and \(n^2\)", r"$x_{ij}^{-1}$ and \(n^2\)", "xᵢⱼ⁻¹ and n²"),
        (r"$\alpha < \beta^{q}$", r"$\alpha &lt; \beta^{q}$", r"\alpha < \beta^{q}"),
        (r"\textbf{$x$ wins}", "<strong>$x$ wins</strong>", "x wins"),
        # A dollar of the text is marked, so that KaTeX does not pair it with another.
        (
            r"\$5 or \$10",
            '<span class="tex-text">$</span>5 or <span class="tex-text">$</span>10',
            "$5 or $10",
        ),
        (
            "a lone $ sign",
            'a lone <span class="tex-text">$</span> sign',
            "a lone $ sign",
        ),
        # Whatever is not a command this knows is shown as typed, and every character is escaped.
        (r"\unknown{arg} \cite{x}", r"\unknown{arg} \cite{x}", r"\unknown{arg} \cite{x}"),
        (
            "<script>alert('t')</script> & \"q\"",
            "&lt;script&gt;alert(&#39;t&#39;)&lt;/script&gt; &amp; &#34;q&#34;",
            "<script>alert('t')</script> & \"q\"",
        ),
        (r"\textbf{unclosed", "<strong>unclosed</strong>", "unclosed"),
        ("a } b", "a } b", "a } b"),
        ("", "", ""),
    ],
)
def test_text_mode_latex_as_html_and_as_plain_text(latex, html, plain):
    assert to_html(latex) == html
    assert to_plain(latex) == plain


def test_pages_without_katex_get_formulas_as_text_inside_the_html():
    assert to_html(r"D$^{2}$R \textbf{$x<y$}", katex=False) == "D²R <strong>x&lt;y</strong>"
