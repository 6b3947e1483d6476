"""make bench: timings of the hot paths against their baselines. `suite` runs every section and
writes bench.json; `measure` times a call and a path against its baseline in alternating pairs;
`nearest_neighbour`, `preprocess`, `generation`, `demos`, `live_mode` and `training` are the sections;
`table` prints their figures."""
