"""The interactive dashboard: a Mesa SolaraViz page over a running `CityModel`.

The engine knows nothing about the page: everything page-side lives here, in layers of its own.

- `controls`: the page's controls as scenario overrides (the one place they become `--set` keys)
- `live`: `LiveModel`, the Mesa model the page steps (one simulated hour per step) and its
  snapshot of the running city (clock, counters, stage shares, hourly queue and busy samples)
- `panels`: matplotlib figures of a snapshot (map, live ECDFs, queues and utilisation)
- `compare`: the second page's data and figures: a finished experiment's variants side by side
- `app`: the Solara page (imports solara and mesa.visualization: only with `gridsim[dashboard]`)
- `server`: binds the socket and runs the Solara server in this process

Only `app` and `server` need the dashboard extra; the rest is plain numpy / pandas / matplotlib
and is tested without a browser.
"""
