################################################################################
#
# mesa3d
#
################################################################################

# The VA-API frontend of Buildroot's mesa3d (BR2_PACKAGE_MESA3D_GALLIUM_VA_FRONTEND,
# package/mesa3d-gallium-va/Config.in): this file sets mesa3d's variables, so it
# is named after it (like Buildroot's linux-ext-*.mk). mesa3d.mk of Buildroot 2026.05 passes -Dgallium-va=disabled (libva may depend
# on mesa3d, which it does not without X.org). meson keeps the last value of an
# option given twice, so the options appended here win. This file is read after
# mesa3d.mk generated mesa3d's rules: the configure step gets libva as an
# order-only prerequisite here, as pkg-generic.mk gives it mesa3d's own
# dependencies.
ifeq ($(BR2_PACKAGE_MESA3D_GALLIUM_VA_FRONTEND),y)
MESA3D_DEPENDENCIES += libva
MESA3D_CONF_OPTS += \
	-Dgallium-va=enabled \
	-Dva-libs-path=/usr/lib/va \
	-Dvideo-codecs=all
$(MESA3D_TARGET_CONFIGURE): | libva
endif
