"""render_steps: one picture per backward step, and a page to click through them.

Picture ``k`` shows the graph while backward is at step ``k``: the active op is
orange, the gradient arriving at it (on its output) and the contributions it sends to
its inputs (on the edges) are drawn bold; ops already done are grey; each tensor shows
the gradient summed *so far*. ``index.html`` holds every picture (SVGs inline, other
formats as sibling files), a one-line caption per step (the op, the gradient it
receives, its chain-rule lines) and previous/next buttons (also the arrow keys, Home,
End); it works opened straight from disk. It is laid out for a 1280x800 projector: the
graph is scaled to fit, but never below ``MIN_SCALE`` (edge labels stay readable), and
each step scrolls the active op into the middle of the view.

>>> # render_steps(loss, "steps")    # then open steps/index.html in a browser
"""

import html
import shutil
from pathlib import Path

from autograd_core.viz._graph import GraphInfo
from autograd_core.viz.dot import DotNotFoundError, draw_graph, summary
from autograd_core.viz.flatcode import backward_steps

__all__ = ["render_steps"]

# The page is laid out for a projector (1280x800 and up): a fixed two-line header
# (buttons and the step's one-line caption) and below it the stage, which scrolls.
# The graph is scaled to fit the stage, but never below MIN_SCALE, so the 10 pt edge
# labels stay readable (>= 7.5 pt); a graph larger than that scrolls, and every step
# scrolls the active op (the node with class "active") to the middle of the stage.
MIN_SCALE = 0.75

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
  html, body {{ margin: 0; padding: 0; height: 100%; overflow: hidden; }}
  body {{ font-family: Helvetica, Arial, sans-serif; color: #111; display: flex;
         flex-direction: column; }}
  header {{ flex: none; padding: 6px 12px; border-bottom: 1px solid #d1d5db;
           background: #f9fafb; }}
  .controls {{ display: flex; gap: 12px; align-items: center; white-space: nowrap;
              overflow: hidden; }}
  .controls h1 {{ font-size: 16px; margin: 0 12px 0 0; white-space: nowrap; }}
  .hint {{ color: #6b7280; font-size: 13px; overflow: hidden; text-overflow: ellipsis; }}
  button {{ font-size: 15px; padding: 3px 14px; }}
  #position {{ font-weight: bold; min-width: 7em; }}
  .caption {{ margin: 4px 0 0 0; font-size: 14px; line-height: 20px; height: 20px;
             white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }}
  code {{ background: #f3f4f6; padding: 0 4px; border-radius: 3px; }}
  #stage {{ flex: 1 1 auto; overflow: auto; position: relative; min-height: 0; }}
  .frame {{ display: none; }}
  .frame.current {{ display: block; text-align: center; }}
  .frame .picture {{ display: inline-block; padding: 8px; }}
  .frame svg, .frame img {{ display: block; }}
</style>
</head>
<body>
<header>
  <div class="controls">
    <h1>{title}</h1>
    <button id="prev" type="button">&larr; previous</button>
    <span id="position"></span>
    <button id="next" type="button">next &rarr;</button>
    <span class="hint">&larr; / &rarr; keys; the orange op is where backward is: it receives
    the complete gradient of its output and passes one contribution to each input.</span>
  </div>
  <p class="caption" id="caption"></p>
</header>
<main id="stage">
{frames}
</main>
<script>
(function () {{
  var MIN_SCALE = {min_scale};
  var frames = document.querySelectorAll(".frame");
  var stage = document.getElementById("stage");
  var caption = document.getElementById("caption");
  var current = 0;
  function naturalSize(picture) {{
    var svg = picture.querySelector("svg");
    if (svg && svg.viewBox && svg.viewBox.baseVal && svg.viewBox.baseVal.width) {{
      var box = svg.viewBox.baseVal;  // graphviz works in points: 96 px = 72 pt
      return [box.width * 96 / 72, box.height * 96 / 72, svg];
    }}
    var img = picture.querySelector("img");
    return img ? [img.naturalWidth, img.naturalHeight, img] : [0, 0, null];
  }}
  function fit(frame) {{
    var picture = frame.querySelector(".picture");
    if (!picture) return;
    var size = naturalSize(picture);
    if (!size[2] || !size[0]) return;
    var room = [stage.clientWidth - 20, stage.clientHeight - 20];
    var scale = Math.min(room[0] / size[0], room[1] / size[1], 1);
    scale = Math.max(scale, MIN_SCALE);
    size[2].style.width = (size[0] * scale) + "px";
    size[2].style.height = (size[1] * scale) + "px";
    frame.dataset.scale = scale.toFixed(3);
  }}
  function centreActive(frame) {{
    var active = frame.querySelector(".active");
    if (!active) return;
    var a = active.getBoundingClientRect(), s = stage.getBoundingClientRect();
    stage.scrollLeft += (a.left + a.width / 2) - (s.left + s.width / 2);
    stage.scrollTop += (a.top + a.height / 2) - (s.top + s.height / 2);
  }}
  function show(k) {{
    if (k < 0 || k >= frames.length) return;
    frames[current].classList.remove("current");
    current = k;
    var frame = frames[current];
    frame.classList.add("current");
    fit(frame);
    centreActive(frame);
    caption.innerHTML = frame.dataset.caption || "";
    caption.title = caption.textContent;
    document.getElementById("position").textContent =
      "step " + (current + 1) + " of " + frames.length;
    document.getElementById("prev").disabled = current === 0;
    document.getElementById("next").disabled = current === frames.length - 1;
  }}
  document.getElementById("prev").addEventListener("click", function () {{ show(current - 1); }});
  document.getElementById("next").addEventListener("click", function () {{ show(current + 1); }});
  document.addEventListener("keydown", function (event) {{
    if (event.key === "ArrowLeft" || event.key === "PageUp") show(current - 1);
    if (event.key === "ArrowRight" || event.key === "PageDown" || event.key === " ") {{
      show(current + 1); event.preventDefault();
    }}
    if (event.key === "Home") show(0);
    if (event.key === "End") show(frames.length - 1);
  }});
  window.addEventListener("resize", function () {{ show(current); }});
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
    graph = GraphInfo(root, params)  # the same names as the pictures (L for the root)
    root = graph.root
    root_name = graph.name[id(root)]
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
        caption = (
            f"<b>{html.escape(step.op)}</b> receives "
            f"{html.escape(f'∂{root_name}/∂{graph.name[id(step.output)]}')} = "
            f"{html.escape(summary(step.grad_output))} &middot; "
            f"<code>{html.escape(step.formula.partition(';  ')[2] or step.formula)}</code>"
        )
        frames.append(f'<div class="frame" id="step{step.index}" '
                      f'data-caption="{html.escape(caption, quote=True)}">'
                      f'<div class="picture">\n{body}\n</div></div>')
    if not frames:
        frames.append('<div class="frame"><p>Nothing to step through: the tensor was not '
                      "computed by recorded ops (it has no grad_fn).</p></div>")
    index = directory / "index.html"
    index.write_text(_PAGE.format(title="Backward, step by step", frames="\n".join(frames),
                                  min_scale=MIN_SCALE), encoding="utf-8")
    return index
