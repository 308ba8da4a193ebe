# Install layout (`cmake --install`) and the Debian package (`cpack -G DEB`).
# Included once from the top CMakeLists.txt; docs/operations.md describes
# what lands where and why.
include(GNUInstallDirs)

# Where systemd looks for units, sysusers.d and tmpfiles.d files: systemd's
# pkg-config file says (Debian 12: /lib/systemd/system, /usr/lib/...), else
# the Debian defaults. Absolute: these do not move with the prefix.
pkg_get_variable(SB_PC_UNITDIR systemd systemdsystemunitdir)
pkg_get_variable(SB_PC_SYSUSERSDIR systemd sysusersdir)
pkg_get_variable(SB_PC_TMPFILESDIR systemd tmpfilesdir)
if(NOT SB_PC_UNITDIR)
  set(SB_PC_UNITDIR /lib/systemd/system)
endif()
if(NOT SB_PC_SYSUSERSDIR)
  set(SB_PC_SYSUSERSDIR /usr/lib/sysusers.d)
endif()
if(NOT SB_PC_TMPFILESDIR)
  set(SB_PC_TMPFILESDIR /usr/lib/tmpfiles.d)
endif()
set(SB_SYSTEMD_UNITDIR ${SB_PC_UNITDIR} CACHE PATH "systemd system unit directory")
set(SB_SYSUSERSDIR ${SB_PC_SYSUSERSDIR} CACHE PATH "sysusers.d directory")
set(SB_TMPFILESDIR ${SB_PC_TMPFILESDIR} CACHE PATH "tmpfiles.d directory")
# The daemon's default -c path (daemon/main.c) and the unit's: not under the prefix.
set(SB_CONFDIR /etc/switchboard)

# Everything here is in the "runtime" component, the one the package holds
# (the benchmark tools install too, but stay out of the .deb).
install(TARGETS switchboard sbctl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)

# The unit names the binary by absolute path, and the prefix is only known
# at install time (cmake --install --prefix, or cpack's /usr): write the
# unit then, into the build tree, and install that copy.
set(SB_UNIT_OUT ${CMAKE_CURRENT_BINARY_DIR}/install/switchboard.service)
install(CODE "
  set(SB_BINDIR \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}\")
  set(SB_DOCDIR \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_DOCDIR}\")
  configure_file(\"${PROJECT_SOURCE_DIR}/systemd/switchboard.service.in\"
                 \"${SB_UNIT_OUT}\" @ONLY)
" COMPONENT runtime)
install(FILES ${SB_UNIT_OUT} DESTINATION ${SB_SYSTEMD_UNITDIR} COMPONENT runtime)
install(FILES systemd/switchboard.sysusers DESTINATION ${SB_SYSUSERSDIR}
        RENAME switchboard.conf COMPONENT runtime)
install(FILES systemd/switchboard.tmpfiles DESTINATION ${SB_TMPFILESDIR}
        RENAME switchboard.conf COMPONENT runtime)

# The working configuration (loopback, no TLS, generated secrets). cmake
# --install never overwrites an operator's edited copy; the package ships it
# as a conffile, so dpkg asks instead. (file(INSTALL) adds $DESTDIR itself.)
install(CODE "
  if(EXISTS \"\$ENV{DESTDIR}${SB_CONFDIR}/switchboard.yaml\")
    message(STATUS \"Keeping: \$ENV{DESTDIR}${SB_CONFDIR}/switchboard.yaml\")
  else()
    file(INSTALL \"${PROJECT_SOURCE_DIR}/packaging/switchboard.yaml\"
         DESTINATION \"${SB_CONFDIR}\" PERMISSIONS OWNER_READ OWNER_WRITE
         GROUP_READ WORLD_READ)
  endif()
" COMPONENT runtime)
# Every key annotated, and the operations guide.
install(FILES config/switchboard.yaml config/demo.yaml
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples COMPONENT runtime)
install(FILES README.md docs/operations.md docs/redis.md DESTINATION ${CMAKE_INSTALL_DOCDIR}
        COMPONENT runtime)

# ---- cpack -G DEB --------------------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME switchboard)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "contact-routing daemon (ACD) for voice, chat, email and social")
set(CPACK_PACKAGE_DESCRIPTION
    "Switchboard takes contacts from telephony, chat, email and social-media gateways,\n\
decides which agent should handle each one, offers it to that agent's client and\n\
tracks it against its SLA. Every state change is written to Redis first, so an\n\
acknowledged contact is never lost. Runs as a hardened systemd service.")
set(SB_DEB_MAINTAINER "Switchboard maintainers <switchboard@localhost>"
    CACHE STRING "Maintainer field of the .deb")
set(CPACK_PACKAGE_CONTACT ${SB_DEB_MAINTAINER})
set(CPACK_DEBIAN_PACKAGE_MAINTAINER ${SB_DEB_MAINTAINER})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Library dependencies from the binaries themselves (dpkg-shlibdeps), plus
# what the maintainer scripts run: systemd-sysusers/-tmpfiles, or adduser
# where systemd is absent (a container).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd | adduser")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "redis-server")
# CPack does not mark /etc files as conffiles by itself.
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/deb/conffiles "${SB_CONFDIR}/switchboard.yaml\n")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_CURRENT_BINARY_DIR}/deb/conffiles
    ${PROJECT_SOURCE_DIR}/packaging/deb/postinst
    ${PROJECT_SOURCE_DIR}/packaging/deb/prerm
    ${PROJECT_SOURCE_DIR}/packaging/deb/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# The package installs under /usr whatever CMAKE_INSTALL_PREFIX is; with
# DESTDIR staging, absolute destinations (/etc, /lib/systemd) land in the
# package too.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# Only the runtime component (not the benchmark tools).
set(CPACK_INSTALL_CMAKE_PROJECTS "${CMAKE_BINARY_DIR};${PROJECT_NAME};runtime;/")
set(CPACK_STRIP_FILES ON)
include(CPack)
