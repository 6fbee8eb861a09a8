# groupbuy — common tasks. `make help` lists them.

GO ?= go
BIN := bin/groupbuy
LAB_BIN := bin/groupbuy-lab
LAB ?= help
DAY ?= 0

.PHONY: help dev test build lab migrate bench fmt vet docker

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

dev: ## run API + worker locally (private PostgreSQL and Redis in .groupbuy/ unless DATABASE_URL/REDIS_URL are set); DAY=60 runs the demo city's day 60 times faster
	GROUPBUY_DEV_DAY=$(DAY) $(GO) run ./cmd/groupbuy dev

test: ## go vet + go test against PostgreSQL and Redis (started if needed); ARGS="-run X ./fulfillment/"
	bash scripts/test.sh $(ARGS)

build: ## build bin/groupbuy and bin/groupbuy-lab, the benchmarks, load tests and simulator (cgo is required by h3-go)
	CGO_ENABLED=1 $(GO) build -trimpath -o $(BIN) ./cmd/groupbuy
	CGO_ENABLED=1 $(GO) build -trimpath -o $(LAB_BIN) ./cmd/groupbuy-lab

lab: build ## run a lab command on DATABASE_URL's server: make lab LAB="bench-wave --lines 100000" (LAB=help lists them)
	$(LAB_BIN) $(LAB)

migrate: ## apply the database migrations to DATABASE_URL
	$(GO) run ./cmd/groupbuy migrate

bench: ## run the Go benchmarks
	$(GO) test -run '^$$' -bench . ./...

fmt: ## gofmt the code
	$(GO) fmt ./...

vet: ## go vet
	$(GO) vet ./...

docker: ## build the images of docker-compose.yml
	docker compose build
