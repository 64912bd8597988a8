"""render_steps: one picture per backward step, and a page to click through them.

Picture ``k`` shows the graph while backward is at step ``k``: the active op is
orange, the gradient arriving at it (on its output) and the contributions it sends to
its inputs (on the edges) are drawn bold; ops already done are grey; each tensor shows
the gradient summed *so far*. ``index.html`` holds every picture (SVGs inline, other
formats as sibling files), the step's formula, and previous/next buttons (also the
left/right arrow keys); it works opened straight from disk.

>>> # render_steps(loss, "steps")    # then open steps/index.html in a browser
"""

import html
import shutil
from pathlib import Path

from autograd_core._format import fmt_value
from autograd_core.viz.dot import DotNotFoundError, draw_graph
from autograd_core.viz.flatcode import backward_steps

__all__ = ["render_steps"]

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
  body {{ font-family: Helvetica, Arial, sans-serif; margin: 1em 2em; color: #111; }}
  .controls {{ display: flex; gap: 0.8em; align-items: center; margin: 0.5em 0; }}
  button {{ font-size: 1em; padding: 0.3em 1em; }}
  .frame {{ display: none; }}
  .frame.current {{ display: block; }}
  .frame svg, .frame img {{ max-width: 100%; height: auto; }}
  code {{ background: #f3f4f6; padding: 0.15em 0.35em; border-radius: 3px; }}
  .caption {{ margin: 0.4em 0 0.8em 0; }}
</style>
</head>
<body>
<h2>{title}</h2>
<p>Backward visits the ops in reverse topological order. At each step the active op
(orange) receives the complete gradient of its output and passes one contribution to each
input; a value that feeds several ops adds their contributions up.
Use the buttons or the &larr; / &rarr; keys.</p>
<div class="controls">
  <button id="prev" type="button">&larr; previous</button>
  <span id="position"></span>
  <button id="next" type="button">next &rarr;</button>
</div>
{frames}
<script>
(function () {{
  var frames = document.querySelectorAll(".frame");
  var current = 0;
  function show(k) {{
    if (k < 0 || k >= frames.length) return;
    frames[current].classList.remove("current");
    current = k;
    frames[current].classList.add("current");
    document.getElementById("position").textContent =
      "step " + (current + 1) + " of " + frames.length;
    document.getElementById("prev").disabled = current === 0;
    document.getElementById("next").disabled = current === frames.length - 1;
  }}
  document.getElementById("prev").addEventListener("click", function () {{ show(current - 1); }});
  document.getElementById("next").addEventListener("click", function () {{ show(current + 1); }});
  document.addEventListener("keydown", function (event) {{
    if (event.key === "ArrowLeft") show(current - 1);
    if (event.key === "ArrowRight") show(current + 1);
    if (event.key === "Home") show(0);
    if (event.key === "End") show(frames.length - 1);
  }});
  if (frames.length) {{ frames[0].classList.add("current"); show(0); }}
}})();
</script>
</body>
</html>
"""


def _inline_svg(svg: str) -> str:
    """The <svg> element of a dot SVG file (without the XML prolog and doctype)."""
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg


def render_steps(root, directory, format="svg", *, params=None, grad=None,
                 **draw_options) -> Path:
    """Write ``step_001.<format>``, ... (one per backward step) and ``index.html``.

    ``draw_options`` go to :func:`~autograd_core.viz.draw_graph` (``rankdir``,
    ``show_shape``, ``collapse``, ...). Needs Graphviz's ``dot``; raises
    :class:`~autograd_core.viz.DotNotFoundError` (how to install it) otherwise. No
    ``.grad`` is changed. Returns the path of ``index.html``.
    """
    engine = draw_options.pop("engine", "dot")
    if shutil.which(engine) is None:
        raise DotNotFoundError(engine)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    steps = backward_steps(root, params=params, grad=grad)
    frames = []
    for step in steps:
        picture = draw_graph(root, params=params, grad=grad, _frame=step.index,
                             **draw_options)
        picture.engine = engine
        data = picture.pipe(format=format)
        path = directory / f"step_{step.index:03d}.{format}"
        path.write_bytes(data)
        if format == "svg":
            body = _inline_svg(data.decode("utf-8"))
        else:
            body = f'<img src="{html.escape(path.name)}" alt="step {step.index}">'
        out_name = step.formula.split(" = ")[0] if " = " in step.formula else "output"
        caption = (
            f"<p class=\"caption\"><b>Step {step.index} of {len(steps)}: {html.escape(step.op)}"
            f"</b> &mdash; incoming gradient {html.escape(f'∂L/∂{out_name}')} = "
            f"{html.escape(fmt_value(step.grad_output))}<br>"
            f"<code>{html.escape(step.formula)}</code></p>"
        )
        frames.append(f'<div class="frame" id="step{step.index}">\n{caption}\n{body}\n</div>')
    if not frames:
        frames.append('<div class="frame"><p>Nothing to step through: the tensor was not '
                      "computed by recorded ops (it has no grad_fn).</p></div>")
    index = directory / "index.html"
    index.write_text(_PAGE.format(title="Backward, step by step", frames="\n".join(frames)),
                     encoding="utf-8")
    return index
