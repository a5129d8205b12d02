################################################################################
#
# svt-av1
#
################################################################################

# 2.3 is the last series whose API ffmpeg 6.1 (Buildroot's ffmpeg) builds
# against: 3.0 changed svt_av1_enc_init_handle() and removed
# enable_adaptive_quantization, which only ffmpeg >= 7.1 follows.
SVT_AV1_VERSION = 2.3.0
SVT_AV1_SOURCE = SVT-AV1-v$(SVT_AV1_VERSION).tar.bz2
SVT_AV1_SITE = https://gitlab.com/AOMediaCodec/SVT-AV1/-/archive/v$(SVT_AV1_VERSION)
SVT_AV1_LICENSE = BSD-3-Clause-Clear, AOM Patent License 1.0
SVT_AV1_LICENSE_FILES = LICENSE.md PATENTS.md
SVT_AV1_INSTALL_STAGING = YES

# No encoder application, no tests, no git hash in the library (reproducible
# builds) and Buildroot's own optimisation flags rather than the project's LTO.
SVT_AV1_CONF_OPTS = \
	-DBUILD_APPS=OFF \
	-DBUILD_TESTING=OFF \
	-DEXCLUDE_HASH=ON \
	-DSVT_AV1_LTO=OFF \
	-DNATIVE=OFF

ifeq ($(BR2_x86_64),y)
# The x86 kernels are NASM assembly.
SVT_AV1_DEPENDENCIES += host-nasm
SVT_AV1_CONF_OPTS += -DCMAKE_ASM_NASM_COMPILER=$(HOST_DIR)/bin/nasm
endif

$(eval $(cmake-package))
