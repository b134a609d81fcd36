/*
 * hyena-lab book: (1) let the ipywidgets HTML manager typeset with MathJax 3; (2) make the
 * theme's ".ipynb" button download the notebook instead of showing its JSON.
 *
 * (1)
 * The widget manager that renders the saved widgets (@jupyter-widgets/html-manager 1.0, the
 * ipywidgets 8 line) typesets every widget label with the MathJax 2 API,
 *     MathJax.Hub.Queue(["Typeset", MathJax.Hub, element])
 * whenever window.MathJax exists (ipywidgets issue #3829). The book loads MathJax 3, which has
 * no Hub, so each label threw "Cannot read properties of undefined (reading 'Queue')" into the
 * console. This file gives MathJax a minimal Hub whose Queue hands "Typeset" jobs to MathJax 3's
 * typesetPromise, one after another, once MathJax has started.
 *
 * It must run after the page's MathJax configuration (window.MathJax = {...}) and before MathJax
 * itself (loaded with defer): book/conf.py adds it synchronously with a late priority.
 */
(function () {
  "use strict";
  // (2) the button links to _sources/<chapter>.ipynb (book/conf.py ships it there). A browser
  // honours `download` for pages served over HTTP; from the disk (file://) it opens the JSON.
  document.addEventListener("DOMContentLoaded", function () {
    var links = document.querySelectorAll("a.btn-download-source-button");
    for (var i = 0; i < links.length; i++) links[i].setAttribute("download", "");
  });

  // (1)
  var waiting = []; // elements queued before MathJax 3 had started
  var chain = null; // MathJax 3 typesets one call at a time

  function typeset(elements) {
    var mathjax = window.MathJax;
    chain = (chain || mathjax.startup.promise)
      .then(function () { return mathjax.typesetPromise(elements); })
      .catch(function (error) { console.warn("hyena-book: widget label not typeset:", error); });
  }

  var hub = {
    Queue: function () {
      for (var i = 0; i < arguments.length; i++) {
        var job = arguments[i];
        if (!Array.isArray(job) || job[0] !== "Typeset" || !job[2]) continue;
        var mathjax = window.MathJax;
        if (mathjax && mathjax.typesetPromise && mathjax.startup) typeset([job[2]]);
        else waiting.push(job[2]);
      }
    },
  };

  var mathjax = window.MathJax;
  if (mathjax === undefined) return; // no equations, no MathJax: widgets do not typeset
  if (mathjax.version) { // MathJax 3 already started (not the order conf.py sets up)
    mathjax.Hub = mathjax.Hub || hub;
    return;
  }
  // a configuration object: MathJax 3 replaces it by itself, then calls startup.ready
  mathjax.Hub = hub; // jobs queued before MathJax loads wait in `waiting`
  var startup = (mathjax.startup = mathjax.startup || {});
  var ready = startup.ready;
  startup.ready = function () {
    if (ready) ready(); else window.MathJax.startup.defaultReady();
    window.MathJax.Hub = hub;
    if (waiting.length) typeset(waiting.splice(0));
  };
})();
