# Shortcuts for the scripts (the scripts are the primary commands: a fresh Debian may lack make).
# Each target sets up .venv/ first, as the scripts do.
.PHONY: sweep test bench docs gpu-check

sweep:  ## the default sweep to its report (results/default/report/)
	bash scripts/sweep.sh

test:  ## the whole test suite
	bash scripts/test.sh

bench:  ## every benchmark -> benchmarks/RESULTS.md and benchmarks/results.json (about 15 min, and about an hour more for bench_packing's 200-run SLURM sweeps)
	bash -c 'source scripts/bootstrap.sh && python benchmarks/run_all.py'

docs:  ## regenerate docs/config_reference.md from the config files and schemas
	bash -c 'source scripts/bootstrap.sh && python scripts/gen_config_reference.py'

gpu-check:  ## on a machine with a CUDA device: the gpu tests and GPU vs CPU throughput
	bash scripts/gpu_check.sh
