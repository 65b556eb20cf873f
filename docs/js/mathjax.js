// MathJax settings for the formulas in the API reference (pymdownx.arithmatex, generic mode).
// MathJax itself is served from the site (js/vendor/mathjax/, copied in by
// docs/mathjax_hook.py) and reads these settings when it loads, so this file comes first.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"]],
    displayMath: [["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true,
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex",
  },
};

// Typeset again after each page change (the theme loads pages without a full reload).
document$.subscribe(() => {
  if (window.MathJax && MathJax.typesetPromise) {
    MathJax.startup.output.clearCache();
    MathJax.typesetClear();
    MathJax.texReset();
    MathJax.typesetPromise();
  }
});
