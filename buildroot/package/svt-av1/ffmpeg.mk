################################################################################
#
# ffmpeg
#
################################################################################

# SVT-AV1 (package/svt-av1) wired into Buildroot's ffmpeg, which knows no
# svt-av1 package: this file sets ffmpeg's variables, so it is named after it
# (like Buildroot's linux-ext-*.mk). It is read after ffmpeg.mk generated
# ffmpeg's rules, so besides the variables (configure options; dependency list
# for show-info, legal-info and per-package directories) the configure step
# gets its order-only prerequisite here, the way pkg-generic.mk gives it to the
# dependencies ffmpeg.mk lists.
ifeq ($(BR2_PACKAGE_SVT_AV1),y)
FFMPEG_DEPENDENCIES += svt-av1
FFMPEG_CONF_OPTS += --enable-libsvtav1
$(FFMPEG_TARGET_CONFIGURE): | svt-av1
endif
