# Thin wrapper over CMake: `make reproduce` runs the study, `make test` the test suite.
# Both install missing Debian packages first (deps), then configure and build.
BUILD    ?= build
JOBS     ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
QUICK    ?=
ONLY     ?=
XAI      := $(BUILD)/xai

DEB_PKGS := build-essential cmake pkg-config libhdf5-dev hdf5-tools libopenblas-dev libcmocka-dev \
            gnuplot-nox libcurl4-openssl-dev libarchive-dev libjpeg62-turbo-dev zlib1g-dev \
            libzip-dev libinih-dev dataset-fashion-mnist \
            python3-torch python3-h5py python3-numpy python3-onnx chromium \
            libpng-dev libprotobuf-c-dev protobuf-c-compiler clang libclang-rt-14-dev poppler-utils
# The MPI build (make build-mpi, test-mpi; `make deps MPI=1`): Open MPI and HDF5's parallel flavour.
MPI      ?=
MPI_PKGS := libopenmpi-dev openmpi-bin libhdf5-openmpi-dev
DEB_PKGS += $(if $(MPI),$(MPI_PKGS))

.PHONY: all deps build test test-repeat test-asan build-fuzz fuzz build-mpi test-mpi reproduce bench clean

all: build

deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "deps: installing$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 1; \
	  else \
	    echo "deps: missing packages; run:"; echo "  sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi

$(BUILD)/CMakeCache.txt: CMakeLists.txt
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The suite again and again, to catch tests whose outcome depends on timing (REPEAT=N).
REPEAT   ?= 20
test-repeat: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --repeat until-fail:$(REPEAT)

# The same suite under AddressSanitizer + UBSan, in its own build tree.
test-asan: deps
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DXAI_SANITIZE="address;undefined" -DXAI_OPENMP=OFF
	cmake --build build-asan -j $(JOBS)
	cd build-asan && ctest --output-on-failure -j $(JOBS)

# libFuzzer targets (tests/fuzz/README.md): clang, ASan + UBSan, in their own build tree.
# `make fuzz` runs each for FUZZ_SECONDS; new inputs and crashes land in build-fuzz/fuzz/.
FUZZ_SECONDS ?= 180
FUZZ_FLAGS   ?=
build-fuzz: deps
	cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DXAI_FUZZ=ON
	cmake --build build-fuzz -j $(JOBS)

fuzz: build-fuzz
	@rc=0; for t in build-fuzz/fuzz_*; do \
	  [ -x "$$t" ] || continue; \
	  bash tests/fuzz/run.sh $$t $(FUZZ_SECONDS) build-fuzz/fuzz $(FUZZ_FLAGS) || rc=1; \
	done; exit $$rc

# The MPI build (core/README.md, MPI): `mpirun -n R build-mpi/xai explain|evaluate ...` in its own
# tree; the unit tests stay with the serial build. test-mpi compares its files with build/'s.
build-mpi:
	$(MAKE) deps MPI=1
	cmake -S . -B build-mpi -DCMAKE_BUILD_TYPE=Release -DXAI_MPI=ON -DBUILD_TESTING=OFF $(CMAKE_FLAGS)
	cmake --build build-mpi -j $(JOBS)

test-mpi: build build-mpi
	bash tests/mpi/run.sh build/xai build-mpi/xai

reproduce: build
	$(XAI) reproduce $(if $(QUICK),--quick) $(if $(ONLY),--only $(ONLY))

bench: build
	$(XAI) bench train --config experiments/mnist.ini --batch 128
	$(XAI) bench infer --config experiments/mnist.ini --batch 128

clean:
	rm -rf $(BUILD) build-asan build-fuzz build-mpi
