# Stella.Pipeline: every target installs what it needs (Debian's ffmpeg, NuGet packages, the TorchSharp native fix).
SHELL := /bin/bash
.DEFAULT_GOAL := build

CONFIG   ?= Release
DATA     ?= data/synth
RUN      ?= runs/inspect
CUDA     ?=
DOTNET   ?= dotnet
MSBUILD_FLAGS := -c $(CONFIG) -nologo $(if $(CUDA),-p:StellaCuda=true,)
STELLA   := $(DOTNET) src/Stella.Cli/bin/$(CONFIG)/net10.0/stella.dll

.PHONY: help deps restore build test test-slurm synth stream-train compare coreset-eval inspect bench bench-efficiency bench-coreset slurm-local slurm-preprocess slurm-coreset clean

help: ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

deps: ## Install Debian's ffmpeg (and a font for plots) when missing; check the .NET SDK.
	@command -v $(DOTNET) >/dev/null || { echo "error: the .NET 10 SDK ('dotnet') is not on PATH: install it from https://dot.net" >&2; exit 1; }
	@if ! command -v ffmpeg >/dev/null || ! command -v ffprobe >/dev/null || [ ! -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then \
	  echo "installing Debian packages: ffmpeg fonts-dejavu-core"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO="sudo"; \
	  if [ -n "$$SUDO" ] && ! command -v sudo >/dev/null; then \
	    echo "error: ffmpeg is missing and this user cannot install it (not root, no sudo). Ask for: apt-get install ffmpeg fonts-dejavu-core" >&2; exit 1; fi; \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg fonts-dejavu-core >/dev/null || \
	  { echo "error: could not install ffmpeg with apt-get (no network to the Debian mirror?). Install ffmpeg and ffprobe, or set FFMPEG_DIR." >&2; exit 1; }; \
	fi

restore: ## Restore NuGet packages (retried once: the registry copy here sometimes fails a first fetch).
	@$(DOTNET) restore Stella.Pipeline.sln $(if $(CUDA),-p:StellaCuda=true,) -v q || $(DOTNET) restore Stella.Pipeline.sln $(if $(CUDA),-p:StellaCuda=true,) -v q

build: deps restore ## Build everything (CUDA=1 builds against TorchSharp-cuda-linux instead of the CPU libtorch).
	@$(DOTNET) build Stella.Pipeline.sln $(MSBUILD_FLAGS) --no-restore -v q -clp:ErrorsOnly

# The suite, one project after another. Measured alone on 2 cores (2026-12-01): Pipeline.Tests 4:31, the other six 3:00, about
# 7:30 in all; the same projects in two concurrent lanes took 9-10 minutes (the lanes' torch, ffmpeg and .NET threads compete
# for the 2 cores), so running them in turn is the faster way here. The projects' test counts are summed at the end.
TEST_PROJECTS := $(patsubst %/,%,$(sort $(dir $(wildcard tests/*/*.Tests.csproj))))

test: build ## Run the test suite (about 8 minutes on 2 cores after the build).
	@rm -f .test.log; set -o pipefail; status=0; trap 'rm -f .test.log; exit 130' INT TERM; \
	  for p in $(TEST_PROJECTS); do $(DOTNET) test $$p $(MSBUILD_FLAGS) --no-build 2>&1 | tee -a .test.log || status=1; done; \
	  awk '/(Passed|Failed)! +- +Failed:/ { gsub(",", ""); f += $$4; p += $$6; s += $$8 } END { printf "%d passed, %d failed, %d skipped\n", p, f, s }' .test.log; \
	  rm -f .test.log; exit $$status

test-slurm: build ## The Slurm array test on a single-node Slurm of this machine (installs Debian's slurm-wlm and munge when missing; root); make test skips it (opt-in: it starts daemons).
	@pipelines/slurm/local-cluster.sh install
	@STELLA_SLURM_TEST=1 $(DOTNET) test tests/Stella.Pipeline.Tests $(MSBUILD_FLAGS) --no-build --filter "FullyQualifiedName~SlurmArrayTests"

# Slurm: submit from the cluster's login node, in this checkout (built), on a shared file system. TASKS array tasks.
TASKS ?= 4
slurm-local: ## Start a single-node Slurm on this machine (installs slurm-wlm and munge when missing; root) to try the targets below.
	@pipelines/slurm/local-cluster.sh install && pipelines/slurm/local-cluster.sh start

slurm-preprocess: build ## Submit stella preprocess as a Slurm array of TASKS tasks: make slurm-preprocess CONFIG_FILE=pipelines/vggsound.yaml OUT=data/shards/vgg [TASKS=8].
	@command -v sbatch >/dev/null || { echo "error: sbatch not found: run this on a Slurm login node (or 'make slurm-local' for a one-machine cluster)" >&2; exit 1; }
	@[ -n "$(CONFIG_FILE)" ] && [ -n "$(OUT)" ] || { echo "usage: make slurm-preprocess CONFIG_FILE=job.yaml OUT=shard-dir [TASKS=4]" >&2; exit 2; }
	@sbatch --array=0-$$(($(TASKS)-1)) --chdir=$(CURDIR) pipelines/slurm/preprocess.sbatch $(CONFIG_FILE) $(OUT)

slurm-coreset: build ## Submit stella extract as a Slurm array of TASKS tasks, then stella coreset on its shards once all succeed: make slurm-coreset RUN=runs/x MANIFEST=m.csv OUT=runs/coreset [CLUSTERS=1000 RATIO=0.2 TASKS=4].
	@command -v sbatch >/dev/null || { echo "error: sbatch not found: run this on a Slurm login node (or 'make slurm-local' for a one-machine cluster)" >&2; exit 1; }
	@[ -n "$(RUN)" ] && [ -n "$(MANIFEST)" ] && [ -n "$(OUT)" ] || { echo "usage: make slurm-coreset RUN=run-dir MANIFEST=manifest.csv OUT=out-dir [CLUSTERS=1000 RATIO=0.2 TASKS=4]" >&2; exit 2; }
	@cd $(CURDIR) && pipelines/slurm/submit-coreset.sh $(TASKS) $(RUN) $(MANIFEST) $(OUT)/features $(or $(CLUSTERS),1000) $(or $(RATIO),0.2) $(OUT)/coincide

synth: build ## Render the built-in benchmark into $(DATA) unless it is there.
	@if [ -f $(DATA)/manifest.csv ]; then echo "$(DATA) exists (delete it to render again)"; else $(STELLA) synth --out $(DATA); fi

stream-train: build ## The main job: STELLA on the built-in benchmark (rendered on first use); writes runs/synth-stella-s0/.
	@$(STELLA) stream-train --config pipelines/synth.yaml $(if $(METHOD),--method $(METHOD),) $(if $(RESUME),--resume,) $(if $(OUT),--out $(OUT),)

# make compare's sets (override on the command line; VARIANTS= runs none). Plain variables: $(or) would split the lists at commas.
COMPARE_CONFIG ?= pipelines/synth.yaml
METHODS        ?= stella,der++,random,lpis-only,rca-only,stella-plus,finetune,er,lump,mir
SEEDS          ?= 0,1,2,3,4
VARIANTS       ?= stella-avm=pipelines/synth-avm.yaml
REFERENCE      ?= der++,stella

compare: build ## Benchmark, not a test: STELLA, its ablations, the baselines and STELLA with a pre-trained AVM (stella-avm) x seeds 0-4 with the warm start, paired against der++ and stella (hours on 2 cores: about 6 min a run; METHODS=, SEEDS=, VARIANTS=, REFERENCE= to choose); writes runs/compare/.
	@$(STELLA) compare --config $(COMPARE_CONFIG) --methods $(METHODS) --seeds $(SEEDS) $(foreach v,$(VARIANTS),--variant $(v)) --reference $(REFERENCE) --out $(or $(OUT),runs/compare)

coreset-eval: build ## Benchmark: train on all clips, extract COINCIDE activations, train on a 20% COINCIDE coreset and a 20% random subset; prints Rel. (%).
	@set -e; D=$(or $(OUT),runs/coreset-eval); mkdir -p $$D; \
	[ -f $$D/full/results.json ] || $(STELLA) stream-train --config pipelines/synth.yaml --out $$D/full; \
	$(STELLA) extract --run $$D/full --manifest $(DATA)/manifest.csv --out $$D/features.npy; \
	$(STELLA) coreset --features $$D/features.npy --clusters 24 --ratio 0.2 --labels $$D/features.npy.labels.txt --out $$D/coincide; \
	$(STELLA) coreset --features $$D/features.npy --clusters 24 --ratio 0.2 --method random --labels $$D/features.npy.labels.txt --out $$D/random; \
	for m in coincide random; do [ -f $$D/train-$$m/results.json ] || $(STELLA) stream-train --config pipelines/synth.yaml --subset $$D/$$m/indices.npy --out $$D/train-$$m; done; \
	/usr/bin/python3 tools/bench/rel.py $$D

inspect: build ## Inspect one clip: make inspect CLIP=path.mp4 [RUN=dir].
	@[ -n "$(CLIP)" ] || { echo "usage: make inspect CLIP=path/to/clip.mp4 [RUN=out/dir]" >&2; exit 2; }
	@$(STELLA) inspect $(CLIP) --out $(RUN)

bench: synth ## Benchmarks (print figures, assert nothing): data path vs bare ffmpeg; efficiency of every learner (Table 2.2); checkpoints; shards; coreset (a) 100k x 1024 and (b) LLaVA scale 665k x 20480 (27 GB in /tmp, ~45 min); stream-train end to end vs training-only (~1 h in all).
	@$(DOTNET) tools/Stella.Bench/bin/$(CONFIG)/net10.0/Stella.Bench.dll all $(DATA)

bench-efficiency: build ## Only thesis Table 2.2 on the production learners (samples/s, peak RSS, model state, peak step memory; tiny and base presets, each method in its own process, ~40 min on 2 cores; PRESETS=tiny, BENCH_METHODS=stella,der++ to choose); writes runs/bench/efficiency.json.
	@$(DOTNET) tools/Stella.Bench/bin/$(CONFIG)/net10.0/Stella.Bench.dll efficiency $(or $(PRESETS),all) $(or $(BENCH_METHODS),all)

bench-coreset: build ## Only the coreset benchmarks: (a) N=100k D=1024 K=1000 exact; k-means vs faiss at D 64/256/1024 x K 100/500/1000/10000 (python3-faiss); (b) N=665,298 D=20,480 float16 K=10,000 with --project 256 --kmeans-precision bfloat16 (about 8 min).
	@# faiss as a user would run it: Debian's faiss links the generic libblas, which is the slow reference BLAS unless an
	@# optimized one is installed (measured at D 256, K 100: 25.0 s with the reference BLAS, 1.5 s with OpenBLAS).
	@if ! /usr/bin/python3 -c 'import faiss' 2>/dev/null || [ ! -e /usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3 ]; then \
	  echo "installing Debian's python3-faiss and OpenBLAS (the k-means grid compares with faiss)"; SUDO=""; [ "$$(id -u)" = 0 ] || SUDO="sudo"; \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-faiss libopenblas0-openmp >/dev/null || echo "warning: python3-faiss or OpenBLAS not installed: the grid prints ours only or a slow faiss" >&2; fi
	@$(DOTNET) tools/Stella.Bench/bin/$(CONFIG)/net10.0/Stella.Bench.dll coreset
	@$(DOTNET) tools/Stella.Bench/bin/$(CONFIG)/net10.0/Stella.Bench.dll kmeans-grid
	@$(DOTNET) tools/Stella.Bench/bin/$(CONFIG)/net10.0/Stella.Bench.dll coreset-llava $(or $(BENCH_DIR),/tmp)

clean: ## Remove build outputs (keeps data/ and runs/).
	@$(DOTNET) clean Stella.Pipeline.sln -v q >/dev/null; find src tests tools \( -name bin -o -name obj \) -type d -prune -exec rm -rf {} +
