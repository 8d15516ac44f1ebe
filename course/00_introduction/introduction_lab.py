# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Module 00 lab: the map of the course
#
# Every module of the course has a `module.yaml` that names its package, its prerequisites,
# its tasks and the checkpoints it unlocks. This lab reads all of them and draws the course as
# a graph: which module needs which, and which package each one builds. Nothing here needs
# code of yours yet.

# %%
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
sys.path.insert(0, str(HERE))  # the lab's own helper, course_graph.py, sits beside it
import course_graph  # noqa: E402

modules = course_graph.load_modules(HERE.parent)
print(course_graph.text(modules))

# %% [markdown]
# ## The dependency graph
#
# Prerequisites must come before the module that needs them; the graph has no cycles, so
# there is an order in which every module can be done.

# %% tags=["tests"]
problems = course_graph.check(modules)
assert not problems, problems
order = course_graph.topological_order(modules)
print("one valid order:", " ".join(order))
assert order.index("02") < order.index("03")

# %% [markdown]
# As mermaid (paste into any mermaid viewer, or see the course page of the docs site):

# %%
print(course_graph.mermaid(modules))

# %% [markdown]
# ## Packages and tasks
#
# How much work each package gets in the course, and how long the course takes:

# %%
by_package: dict[str, list[str]] = {}
for m in modules:
    for p in m.packages:
        by_package.setdefault(p, []).extend(f"{m.id}:{t.id}" for t in m.tasks)
for p, tasks in sorted(by_package.items()):
    print(f"{p:<20} {len(tasks):>2} tasks  {' '.join(tasks)}")
print(f"total: {sum(m.time_estimate_hours for m in modules):g} hours over {len(modules)} modules")

# %% [markdown]
# ## A picture (with matplotlib, when it is installed)

# %%
try:
    import matplotlib  # noqa: F401
except ImportError:
    print("matplotlib is not installed: pip install matplotlib for the PNG")
else:
    import tempfile

    png = course_graph.draw_png(modules, Path(tempfile.gettempdir()) / "tinytorch_course_map.png")
    print("wrote", png, f"({png.stat().st_size} bytes)")

# %% [markdown]
# ## Your environment
#
# Module 01 asks you to write `tinytorch.tensor.system_info()`. Until you have, this cell
# reports the stub's message instead.

# %%
import tinytorch.tensor as tt  # noqa: E402

try:
    print(tt.system_info())
except NotImplementedError as exc:
    print("not yet:", exc)
