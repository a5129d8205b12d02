################################################################################
#
# alchemist
#
################################################################################

# Built from the checkout this external tree lives in, not from a download, so a release
# image always contains the binary of the commit it was built from.
ALCHEMIST_VERSION = $(shell sed -n 's/^version = "\(.*\)"/\1/p' $(BR2_EXTERNAL_ALCHEMIST_PATH)/../Cargo.toml | head -n 1)
ALCHEMIST_SITE = $(realpath $(BR2_EXTERNAL_ALCHEMIST_PATH)/..)
ALCHEMIST_SITE_METHOD = local
ALCHEMIST_LICENSE = MIT
# Only the service binary; the release profile (fat LTO, stripped, panic = unwind) is the
# one Cargo.toml documents.
ALCHEMIST_CARGO_BUILD_OPTS = --bin alchemist --locked
# Keep the developer's target/ (gigabytes of build output) out of the rsync to the build dir.
ALCHEMIST_OVERRIDE_SRCDIR_RSYNC_EXCLUSIONS = --exclude target --exclude data

define ALCHEMIST_INSTALL_TARGET_CMDS
	$(INSTALL) -D -m 0755 $(@D)/target/$(RUSTC_TARGET_NAME)/release/alchemist \
		$(TARGET_DIR)/usr/bin/alchemist
endef

$(eval $(cargo-package))
