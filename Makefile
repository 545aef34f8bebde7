# nudge build. Every dependency is found with pkg-config; `scripts/setup.sh`
# installs what is missing (apt-get as root) and is run once per machine by the
# targets below, so a fresh Debian needs nothing but `make run` / `make check`.
CC      ?= cc
PKGS    := sqlite3 libpq libcurl jansson libical libcrypto libmicrohttpd
CFLAGS  ?= -O2 -g
# Kept apart from CFLAGS so `make CFLAGS=...` (the sanitizer build) cannot
# drop the language level or the warnings.
STRICT  := -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -Iinclude -Isrc
BUILD   ?= build
SETUP   := $(BUILD)/.setup-ok

# The command alone links libsystemd (sd_notify for serve under systemd);
# the library does not.
CLI_PKGS := libsystemd
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
CLI_LIBS   = $(shell pkg-config --libs $(CLI_PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
TEST_LIBS  = $(shell pkg-config --libs cmocka 2>/dev/null)

LIB_SRC := $(wildcard src/*.c src/store/*.c src/channel/*.c src/http/*.c)
# The command line (src/cli/) is the nudge binary's alone, not the library's.
CLI_SRC := $(wildcard src/cli/*.c)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/src/store/migrations.o $(BUILD)/src/http/openapi_doc.o
MIGRATIONS := $(sort $(wildcard src/store/sql/*/*.sql))

TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)

# make run PORT=9090 (or NUDGE_LISTEN=HOST:PORT in the environment).
PORT    ?= 8080
RUN_LISTEN = $(if $(filter command line,$(origin PORT)),127.0.0.1:$(PORT),$(or $(NUDGE_LISTEN),127.0.0.1:$(PORT)))
# make install [PREFIX=/usr/local] [DESTDIR=staging root]
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
DOCDIR  ?= $(PREFIX)/share/doc/nudge
UNITDIR ?= $(PREFIX)/lib/systemd/system

.PHONY: all setup run check test san clean install lint-docs FORCE
all: $(BUILD)/nudge $(BUILD)/libnudge.a

$(SETUP): scripts/setup.sh
	@mkdir -p $(BUILD)
	bash scripts/setup.sh
	@touch $@

setup: $(SETUP)

$(BUILD)/%.o: %.c $(SETUP) $(wildcard src/*.h src/store/*.h src/channel/*.h src/http/*.h include/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(STRICT) $(PKG_CFLAGS) -c $< -o $@

# Migrations are plain SQL files, embedded so the binary carries its schema.
# The list of files is a prerequisite of its own: a file's mtime cannot tell
# make that a migration was removed or renamed, so the list is written to a
# stamp on every run and the stamp changes only when the list does.
MIGRATION_LIST := $(BUILD)/.migrations.list
FORCE:
$(MIGRATION_LIST): FORCE
	@mkdir -p $(dir $@)
	@echo '$(MIGRATIONS)' | cmp -s - $@ || echo '$(MIGRATIONS)' > $@

$(BUILD)/src/store/migrations.c: $(MIGRATIONS) $(MIGRATION_LIST) scripts/embed-sql.sh
	@mkdir -p $(dir $@)
	bash scripts/embed-sql.sh $(MIGRATIONS) > $@

$(BUILD)/src/store/migrations.o: $(BUILD)/src/store/migrations.c
	$(CC) $(CFLAGS) $(STRICT) -c $< -o $@

# The OpenAPI document is kept in docs/ as the single source and served
# from the binary.
$(BUILD)/src/http/openapi_doc.c: docs/openapi.json scripts/embed-file.sh
	@mkdir -p $(dir $@)
	bash scripts/embed-file.sh http_openapi_json docs/openapi.json > $@

$(BUILD)/src/http/openapi_doc.o: $(BUILD)/src/http/openapi_doc.c
	$(CC) $(CFLAGS) $(STRICT) -c $< -o $@

# The built-in workflows are JSON data (src/workflow_builtin.json), carried
# by the binary.
LIB_OBJ += $(BUILD)/src/workflow_builtin.o
$(BUILD)/src/workflow_builtin.c: src/workflow_builtin.json scripts/embed-file.sh
	@mkdir -p $(dir $@)
	bash scripts/embed-file.sh workflow_builtin_json src/workflow_builtin.json > $@

$(BUILD)/src/workflow_builtin.o: $(BUILD)/src/workflow_builtin.c
	$(CC) $(CFLAGS) $(STRICT) -c $< -o $@

# The staff dashboard (web/) is embedded too and served by src/http/static.c:
# the binary needs no files beside it. Only the browser tests use npm.
# Its libraries come from Debian (scripts/setup.sh installs them) and are
# embedded from where Debian puts them, never copied into the repository.
DASH_FILES := $(sort $(shell find web -type f))
DASH_CHARTJS := /usr/share/javascript/chart.js/chart.min.js
LIB_OBJ += $(BUILD)/src/http/dash_assets.o
$(BUILD)/src/http/dash_assets.c: $(DASH_FILES) scripts/embed-assets.sh | $(SETUP)
	@mkdir -p $(dir $@)
	bash scripts/embed-assets.sh web $(DASH_FILES) vendor/chart.min.js=$(DASH_CHARTJS) > $@

$(BUILD)/src/http/dash_assets.o: $(BUILD)/src/http/dash_assets.c
	$(CC) $(CFLAGS) $(STRICT) -c $< -o $@

$(BUILD)/libnudge.a: $(LIB_OBJ)
	ar rcs $@ $^

$(CLI_OBJ): src/cli/cli.h

$(BUILD)/nudge: $(CLI_OBJ) $(BUILD)/libnudge.a
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS) $(CLI_LIBS)

$(BUILD)/tests/%: tests/%.c $(wildcard tests/*.h) $(BUILD)/libnudge.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(STRICT) $(PKG_CFLAGS) -Itests -o $@ $< $(BUILD)/libnudge.a $(PKG_LIBS) $(TEST_LIBS)

test: $(BUILD)/nudge $(TEST_BIN)
	bash tests/run.sh $(BUILD)

# The sanitizer build is a second tree built by clang, so every `make check`
# also proves the code builds clean with both compilers.
SAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
san:
	$(MAKE) BUILD=build/san CC=clang CFLAGS="$(SAN_FLAGS)" $(BUILD:%=build/san/nudge) build/san/libnudge.a $(TEST_BIN:$(BUILD)/%=build/san/%)

check: $(BUILD)/nudge $(TEST_BIN)
	python3 scripts/check-binds.py
	python3 scripts/check-owners.py
	python3 scripts/check-tenancy.py

	@$(MAKE) --no-print-directory lint-docs
	@$(MAKE) --no-print-directory san
	bash tests/run.sh $(BUILD) build/san

run: $(BUILD)/nudge
	@mkdir -p run
	NUDGE_LISTEN=$(RUN_LISTEN) $(BUILD)/nudge --db run/nudge.db serve --demo --outbox run/outbox

# The man page passes mandoc's lint, and the systemd unit (written as
# `make install` writes it, pointing at this build's binary) passes
# systemd-analyze verify with and without its credential lines; any
# warning fails. A machine without systemd-analyze skips that check
# and says why.
lint-docs: $(BUILD)/nudge
	mandoc -T lint -W warning docs/nudge.1
	@mkdir -p $(BUILD)/dist/credentials
	sed 's#@BINDIR@#$(abspath $(BUILD))#g' dist/nudge.service.in > $(BUILD)/dist/nudge.service
	sed 's/^#\(LoadCredential\|Environment\)/\1/' $(BUILD)/dist/nudge.service > $(BUILD)/dist/credentials/nudge.service
	@if command -v systemd-analyze >/dev/null; then \
	  for u in $(BUILD)/dist/nudge.service $(BUILD)/dist/credentials/nudge.service; do \
	    out=$$(systemd-analyze verify --man=no $$u 2>&1); \
	    if [ -n "$$out" ]; then echo "$$out"; echo "systemd-analyze verify $$u: not clean"; exit 1; fi; \
	  done; echo "systemd-analyze verify: dist/nudge.service clean"; \
	else echo "lint-docs: skipped systemd-analyze verify: systemd-analyze is not installed (Debian package systemd)"; fi

install: $(BUILD)/nudge
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(DOCDIR) $(DESTDIR)$(UNITDIR)
	install -m 0755 $(BUILD)/nudge $(DESTDIR)$(BINDIR)/nudge
	install -m 0644 docs/nudge.1 $(DESTDIR)$(MANDIR)/man1/nudge.1
	install -m 0644 README.md docs/OPERATIONS.md $(DESTDIR)$(DOCDIR)/
	sed 's#@BINDIR@#$(BINDIR)#g' dist/nudge.service.in > $(DESTDIR)$(UNITDIR)/nudge.service
	sed 's#@BINDIR@#$(BINDIR)#g' dist/nudge.cron.in > $(DESTDIR)$(DOCDIR)/nudge.cron
	chmod 0644 $(DESTDIR)$(UNITDIR)/nudge.service $(DESTDIR)$(DOCDIR)/nudge.cron

clean:
	rm -rf build

# tests/workers.sh at the issue's full size: four `nudge worker` processes
# drain 10,000 messages on a throwaway PostgreSQL (make check drains 2,000:
# what fits well under a minute on two shared cores); tests/hostile.sh sends
# 50,000 hostile requests (make check: 3,000).
.PHONY: soak
soak: $(BUILD)/nudge
	WORKERS_N=100000 bash tests/pgcluster.sh bash tests/workers.sh
	HOSTILE_N=50000 NUDGE=$(BUILD)/nudge bash tests/hostile.sh

# `make bench` (issue 16): the binaries below are its prerequisites; it then
# installs what the peers need, runs every phase under a time limit and
# prints one table (bench/bench.sh; N=1000 make bench for a quick run).
bench: $(BUILD)/nudge $(BUILD)/bench/ceiling
	BUILD=$(BUILD) bash bench/bench.sh $(N)

# The physical ceilings: libsqlite3 and libpq alone, no libnudge.
$(BUILD)/bench/ceiling: bench/ceiling.c bench/timing.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(STRICT) $(PKG_CFLAGS) -o $@ $< $(PKG_LIBS) -lpthread
$(BUILD)/bench/fanout: bench/timing.h

# The throughput benchmark (bench/README.md); never part of `make check`.
.PHONY: bench
bench: $(BUILD)/bench/throughput $(BUILD)/bench/queue
bench: $(BUILD)/bench/fanout

$(BUILD)/bench/queue: bench/queue.c $(BUILD)/libnudge.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(STRICT) $(PKG_CFLAGS) -o $@ $< $(BUILD)/libnudge.a $(PKG_LIBS) -lpthread

$(BUILD)/bench/throughput: bench/throughput.c $(BUILD)/libnudge.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(STRICT) $(PKG_CFLAGS) -o $@ $< $(BUILD)/libnudge.a $(PKG_LIBS) -lm

# The fan-out of a campaign to 100,000 patients (bench/fanout.c, issue 17).
$(BUILD)/bench/fanout: bench/fanout.c $(BUILD)/libnudge.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(STRICT) $(PKG_CFLAGS) -Isrc -o $@ $< $(BUILD)/libnudge.a $(PKG_LIBS)

# The library benchmarks that share bench/common.h (with timing.h): the
# burn-down through a no-op custom channel (bench/burn.c), the steady-rate
# latency (bench/steady.c), reminders due at once made messages
# (bench/plan.c); issue 16.
LIB_BENCHES := $(addprefix $(BUILD)/bench/,burn steady plan)
bench: $(LIB_BENCHES)
$(BUILD)/bench/queue: bench/common.h bench/timing.h
$(LIB_BENCHES): $(BUILD)/bench/%: bench/%.c bench/common.h bench/timing.h $(BUILD)/libnudge.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(STRICT) $(PKG_CFLAGS) -Isrc -o $@ $< $(BUILD)/libnudge.a $(PKG_LIBS) -lpthread

# libFuzzer harnesses, one per parser (fuzz/*.c, seeds in fuzz/corpus/NAME/).
# `make fuzz` builds a tree whose library is instrumented for coverage too
# (build/fuzz) and runs each harness FUZZ_SECONDS (default 60); the smoke in
# `make check` (tests/fuzz.sh) links the harnesses to the sanitizer tree
# (`make fuzz-san`, no second library build) and runs each over its corpus
# and a few thousand inputs.
FUZZ_NAMES := $(patsubst fuzz/%.c,%,$(wildcard fuzz/*.c))
FUZZ_SECONDS ?= 60
.PHONY: fuzz fuzz-san
fuzz-san:
	$(MAKE) BUILD=build/san CC=clang CFLAGS="$(SAN_FLAGS)" $(FUZZ_NAMES:%=build/san/fuzz/%)

fuzz:
	$(MAKE) BUILD=build/fuzz CC=clang CFLAGS="$(SAN_FLAGS) -fsanitize=fuzzer-no-link" $(FUZZ_NAMES:%=build/fuzz/fuzz/%)
	FUZZ_BUILD=build/fuzz FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/fuzz.sh

$(BUILD)/fuzz/%: fuzz/%.c fuzz/fuzz.h src/http/webhooks.c $(BUILD)/libnudge.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fsanitize=fuzzer $(STRICT) $(PKG_CFLAGS) -o $@ $< $(BUILD)/libnudge.a $(PKG_LIBS)

# The crash loop's long mode (issue 11): 100,000 messages and 1,000
# SIGKILLs of `nudge serve`, on SQLite and on PostgreSQL.
.PHONY: soak-crash
soak: soak-crash
soak-crash: $(BUILD)/nudge
	CRASH_N=100000 CRASH_KILLS=1000 NUDGE=$(BUILD)/nudge bash tests/crash.sh
	CRASH_N=100000 CRASH_KILLS=1000 NUDGE=$(BUILD)/nudge bash tests/pgcluster.sh bash tests/crash.sh

# The compliance simulation's long mode (issue 17): two months of 200
# patients a clinic, on SQLite and on PostgreSQL.
.PHONY: soak-compliance
soak: soak-compliance
soak-compliance: $(BUILD)/tests/test_compliance
	COMPLIANCE_DAYS=62 COMPLIANCE_PATIENTS=200 $(BUILD)/tests/test_compliance
	COMPLIANCE_DAYS=62 COMPLIANCE_PATIENTS=200 bash tests/pgcluster.sh $(BUILD)/tests/test_compliance
