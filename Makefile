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

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
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

.PHONY: all setup run check test san clean
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
$(BUILD)/src/store/migrations.c: $(MIGRATIONS) scripts/embed-sql.sh
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

$(BUILD)/libnudge.a: $(LIB_OBJ)
	ar rcs $@ $^

$(CLI_OBJ): src/cli/cli.h

$(BUILD)/nudge: $(CLI_OBJ) $(BUILD)/libnudge.a
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/tests/%: tests/%.c $(wildcard tests/*.h) $(BUILD)/libnudge.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(STRICT) $(PKG_CFLAGS) -Itests -o $@ $< $(BUILD)/libnudge.a $(PKG_LIBS) $(TEST_LIBS)

test: $(BUILD)/nudge $(TEST_BIN)
	bash tests/run.sh $(BUILD)

# The sanitizer build is a second tree built by clang, so every `make check`
# also proves the code builds clean with both compilers.
san:
	$(MAKE) BUILD=build/san CC=clang CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all" $(BUILD:%=build/san/nudge) build/san/libnudge.a $(TEST_BIN:$(BUILD)/%=build/san/%)

check: $(BUILD)/nudge $(TEST_BIN)
	python3 scripts/check-binds.py
	python3 scripts/check-owners.py
	@$(MAKE) --no-print-directory san
	bash tests/run.sh $(BUILD) build/san

run: $(BUILD)/nudge
	@mkdir -p run
	$(BUILD)/nudge --db run/nudge.db serve --demo --outbox run/outbox

clean:
	rm -rf build

# tests/workers.sh at the issue's full size: four `nudge worker` processes
# drain 10,000 messages on a throwaway PostgreSQL (make check drains 2,000:
# what fits well under a minute on two shared cores); tests/hostile.sh sends
# 50,000 hostile requests (make check: 3,000).
.PHONY: soak
soak: $(BUILD)/nudge
	WORKERS_N=10000 bash tests/pgcluster.sh bash tests/workers.sh
	HOSTILE_N=50000 NUDGE=$(BUILD)/nudge bash tests/hostile.sh

# The throughput benchmark (bench/README.md); never part of `make check`.
.PHONY: bench
bench: $(BUILD)/bench/throughput

$(BUILD)/bench/throughput: bench/throughput.c $(BUILD)/libnudge.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(STRICT) $(PKG_CFLAGS) -o $@ $< $(BUILD)/libnudge.a $(PKG_LIBS) -lm
