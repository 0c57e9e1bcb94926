/* The ipywidgets HTML manager typesets widget labels with MathJax 2's API,
   MathJax.Hub.Queue(["Typeset", MathJax.Hub, element]); the book loads MathJax 3, which has
   no Hub, so every labelled widget threw. Map that one call onto MathJax 3's typesetPromise.
   Installed at DOMContentLoaded: after the deferred MathJax script ran, before the widget
   manager renders (it waits for "load"). */
document.addEventListener("DOMContentLoaded", function () {
  var mj = window.MathJax;
  if (!mj || !mj.version || String(mj.version).charAt(0) !== "3" || mj.Hub) return;
  mj.Hub = {
    Queue: function () {
      Array.prototype.forEach.call(arguments, function (job) {
        if (Array.isArray(job) && job[0] === "Typeset") {
          var el = job[2];
          mj.startup.promise = mj.startup.promise.then(function () {
            return mj.typesetPromise(el ? [el] : undefined);
          });
        }
      });
    }
  };
});
