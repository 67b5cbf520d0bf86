# The targets a newcomer guesses. `make demo` runs Huifang on its embedded
# default; `make test` runs every test against the local Postgres and Redis.
GO ?= go
export PATH := /usr/local/go/bin:$(PATH)

.PHONY: demo test bench lint build fuzz

demo:
	$(GO) run ./cmd/huifang demo

test:
	bash .ci/services
	$(GO) test -count=1 -timeout 15m -skip '^TestCluster' ./...
	@# The multi-process cluster tests measure pace at the carrier to the
	@# millisecond: they run alone, one after the other, after the rest.
	$(GO) test -count=1 -timeout 15m -run '^TestCluster' ./cmd/huifang/

build:
	$(GO) build -o huifang ./cmd/huifang

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet ./...

# Benchmarks: Go micro-benchmarks, the 1,000,000-row import, pacing, the
# gather webhook, enrolment, dispatch, and three instances' pace at the
# carrier. Figures go in docs/benchmarks.md.
bench:
	bash .ci/services
	$(GO) test -run '^$$' -bench . -benchmem ./...
	$(GO) build -o /tmp/huifang-bench ./cmd/huifang
	/tmp/huifang-bench bench import --rows 1000000
	/tmp/huifang-bench bench pace --instances 3 --rate 20 --seconds 60
	/tmp/huifang-bench bench webhooks
	/tmp/huifang-bench bench enrol --jobs 1000000
	/tmp/huifang-bench bench dispatch --contacts 20000 --seconds 20
	$(GO) test -count=1 -run '^TestClusterPacesOneCampaign$$' -v ./cmd/huifang/

# Each fuzz target for a while (FUZZTIME=60s by default).
FUZZTIME ?= 60s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s $$pkg || exit 1; \
	  done; \
	done
