################################################################################
#
# alchemist
#
################################################################################

# Built from the commit checked out in the repository this external tree lives
# in, fetched with git like any other source: Buildroot's cargo infrastructure
# then vendors the crates of Cargo.lock into the source tarball (a download
# post-process, with network), so the build itself runs offline. The vendoring
# also replaces the repository's .cargo/config.toml, which names host compilers
# (musl-gcc, clang, llvm-ar) for developers' static builds: no host tool leaks
# into the target build. Uncommitted changes are not built.
ALCHEMIST_VERSION = $(shell git -C $(BR2_EXTERNAL_ALCHEMIST_PATH) rev-parse HEAD)
ALCHEMIST_SITE = $(realpath $(BR2_EXTERNAL_ALCHEMIST_PATH)/..)
ALCHEMIST_SITE_METHOD = git
ALCHEMIST_LICENSE = MIT

# The V4L2 encoder code generates its bindings with bindgen (crate v4l2r) from
# the videodev2.h of the target's kernel headers (>= 6.5) in staging, with
# host-clang's libclang.
ALCHEMIST_DEPENDENCIES = host-clang
ALCHEMIST_CARGO_ENV = \
	LIBCLANG_PATH=$(HOST_DIR)/lib \
	V4L2R_VIDEODEV2_H_PATH=$(STAGING_DIR)/usr/include/linux \
	BINDGEN_EXTRA_CLANG_ARGS_$(subst -,_,$(RUSTC_TARGET_NAME))="--sysroot=$(STAGING_DIR) -I$(STAGING_DIR)/usr/include"

# Only the service binary, in the release profile of Cargo.toml (the
# infrastructure passes --release, --offline and --locked).
ALCHEMIST_CARGO_BUILD_OPTS = --bin alchemist

define ALCHEMIST_INSTALL_TARGET_CMDS
	$(INSTALL) -D -m 0755 \
		$(@D)/target/$(RUSTC_TARGET_NAME)/$(if $(BR2_ENABLE_DEBUG),debug,release)/alchemist \
		$(TARGET_DIR)/usr/bin/alchemist
endef

$(eval $(cargo-package))
