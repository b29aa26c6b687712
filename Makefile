# zerocut — PGXS is the real build.  `make demo` and `make test` also do all
# set-up (packages, build, install) on a fresh Debian 12 machine.

EXTENSION    = zerocut
EXTVERSION   = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" zerocut.control)
MODULE_big   = zerocut

# One folder per capability; every .cpp below src/ is part of the module.
SRCS         = $(sort $(wildcard src/*/*.cpp))
OBJS         = $(SRCS:.cpp=.o)

# The install script is assembled from install/*.sql in name order, so each
# capability owns its own fragment.
INSTALL_PARTS = $(sort $(wildcard install/*.sql))
DATA_built   = $(EXTENSION)--$(EXTVERSION).sql
# Released install scripts, kept as they were released, and the upgrade
# scripts between versions (ALTER EXTENSION zerocut UPDATE).
DATA         = $(filter-out $(DATA_built),$(wildcard upgrade/$(EXTENSION)--*.sql))
EXTRA_CLEAN  = $(EXTENSION)--$(EXTVERSION).sql build tmp_check results regression.diffs regression.out

# Domain-schema SQL run by zerocut.install_domain_schema(), in name order.
DOMAIN_FILES = $(sort $(wildcard domain/*.sql))

PG_CONFIG   ?= pg_config
PGXS        := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)

PG_CPPFLAGS  = -isystem $(shell $(PG_CONFIG) --includedir-server) -Isrc
PG_CXXFLAGS  = -DZEROCUT_VERSION=\"$(EXTVERSION)\" -std=c++20 -fPIC -Wall -Wextra -Werror -Wno-missing-field-initializers
SHLIB_LINK   = -lfmt -lssl -lcrypto -lstdc++

# No LLVM bitcode: Debian's clang is not needed to build an extension.
override with_llvm = no
ifneq ($(wildcard $(PGXS)),)
include $(PGXS)
endif

$(EXTENSION)--$(EXTVERSION).sql: $(INSTALL_PARTS) zerocut.control
	cat $(INSTALL_PARTS) > $@

$(OBJS): $(wildcard src/*/*.hpp)
# The version is compiled in (-DZEROCUT_VERSION): rebuild when it changes.
src/foundation/version.o: zerocut.control

DOMAIN_DIR = $(DESTDIR)$(datadir)/extension/zerocut_domain
install: install-domain
install-domain:
	$(MKDIR_P) '$(DOMAIN_DIR)'
	rm -f '$(DOMAIN_DIR)'/*.sql
	$(INSTALL_DATA) $(DOMAIN_FILES) '$(DOMAIN_DIR)/'

.PHONY: setup demo test bench unit format lint install-domain

# ---- the two commands of the README ----------------------------------------
setup:
	bash scripts/setup.sh
	$(MAKE) -j2 all
	$(MAKE) install

demo: setup
	bash demo/run.sh

# PG=15 or PG=17 runs the server suites on one version; default both.
test: setup
	PG="$(PG)" bash test/run_all.sh

bench: setup
	PG="$(PG)" bash bench/run.sh

unit:
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build -j2 --target zerocut_unit_tests
	cd build && ctest --output-on-failure

format:
	clang-format -i $(SRCS) $(wildcard src/*/*.hpp) $(wildcard test/unit/*.cpp)

lint:
	clang-format --dry-run -Werror $(SRCS) $(wildcard src/*/*.hpp) $(wildcard test/unit/*.cpp)
	cmake -S . -B build >/dev/null
	clang-tidy -p build --quiet $(wildcard src/core/*.cpp)
	cppcheck --quiet --error-exitcode=1 --std=c++20 --language=c++ --suppress=missingIncludeSystem -Isrc src/core
