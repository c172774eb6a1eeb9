// Typesets the LaTeX of elements marked `data-math` (a paper's title and abstract) and the formulas of comments
// (marked `math` by the Markdown renderer, community/markdown.py) with KaTeX, which the site serves itself. Loaded with `defer` after katex.min.js and auto-render.min.js, so it runs once the page is parsed
// and they are ready. Without JavaScript the LaTeX stays readable as typed.
"use strict";

(function typesetMath() {
  if (typeof window.renderMathInElement !== "function") {
    return;
  }
  const options = {
    // Longer delimiters first: `$$` must not be read as two empty `$` formulas.
    delimiters: [
      { left: "$$", right: "$$", display: true },
      { left: "\\[", right: "\\]", display: true },
      { left: "\\(", right: "\\)", display: false },
      { left: "$", right: "$", display: false },
    ],
    // A formula KaTeX cannot parse is shown as its source, in red, instead of stopping the rest of the page.
    throwOnError: false,
    // A dollar sign of the text (`\$` in the record, catalog/latex.py) is no delimiter.
    ignoredClasses: ["tex-text"],
  };
  for (const element of document.querySelectorAll("[data-math], .comment-body .math")) {
    window.renderMathInElement(element, options);
  }
})();
