"""What the meta suite (tests/) and the benchmarks (bench/) share: see tools/projects.py."""
