"""Release benchmarks of ulde: ``python -m pytest benchmarks/`` gates a release and writes its figures.

Figures land in ``benchmarks/results/latest.json`` and ``latest.md``; the README's numbers block is
generated from the JSON (``python -m benchmarks.readme_numbers`` regenerates it by hand).
"""
