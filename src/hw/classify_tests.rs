//! Classification of recorded and documented VAAPI stderr (see tests/fixtures/README.md for
//! which files were recorded on this machine and which were written from documented output).

use super::*;

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/vaapi/",
            $name
        ))
    };
}

fn problem(stderr: &str, access: NodeAccess) -> Problem {
    classify(stderr, false, access).unwrap_err().problem
}

#[test]
fn success_is_the_exit_status() {
    assert_eq!(classify("", true, NodeAccess::Ok), Ok(()));
    // A warning on a successful run is not a failure.
    assert_eq!(
        classify("[hevc_vaapi @ 0x1] Some warning\n", true, NodeAccess::Ok),
        Ok(())
    );
}

#[test]
fn missing_node_recorded_here() {
    let f = classify(
        fixture!("no-device-error-5.1.txt"),
        false,
        NodeAccess::Missing,
    )
    .unwrap_err();
    assert_eq!(f.problem, Problem::NoDevice);
    assert_eq!(
        f.detail,
        "No VA display found for device /dev/dri/renderD128."
    );
}

#[test]
fn permission_denied_needs_the_access_hint() {
    // ffmpeg prints the same text for a node it may not open as for a missing one.
    let text = fixture!("permission-denied-error-5.1.txt");
    assert_eq!(
        classify(text, false, NodeAccess::Ok).unwrap_err().detail,
        classify(fixture!("no-device-error-5.1.txt"), false, NodeAccess::Ok)
            .unwrap_err()
            .detail
    );
    assert_eq!(
        problem(text, NodeAccess::PermissionDenied),
        Problem::PermissionDenied
    );
    assert_eq!(problem(text, NodeAccess::Ok), Problem::NoDevice);
    let verbose = fixture!("permission-denied-verbose-5.1.txt");
    assert_eq!(
        problem(verbose, NodeAccess::PermissionDenied),
        Problem::PermissionDenied
    );
    // Builds that print errno say so themselves.
    assert_eq!(
        problem(
            "Failed to open /dev/dri/renderD128 as DRM device node: Permission denied\n",
            NodeAccess::Ok
        ),
        Problem::PermissionDenied
    );
}

#[test]
fn a_device_that_is_not_drm() {
    let f = classify(
        fixture!("not-a-drm-device-verbose-5.1.txt"),
        false,
        NodeAccess::Ok,
    )
    .unwrap_err();
    assert_eq!(f.problem, Problem::NoDevice);
    assert!(
        f.detail.starts_with("Cannot open a VA display"),
        "{}",
        f.detail
    );
}

#[test]
fn missing_driver() {
    for text in [
        fixture!("driver-missing-verbose.txt"),
        fixture!("driver-missing-error.txt"),
    ] {
        let f = classify(text, false, NodeAccess::Ok).unwrap_err();
        assert_eq!(f.problem, Problem::DriverMissing);
        assert!(f.detail.contains("-1"), "{}", f.detail);
    }
    // The driver it tried is still named.
    assert_eq!(
        parse_driver(fixture!("driver-missing-verbose.txt"))
            .name
            .as_deref(),
        Some("iHD")
    );
}

#[test]
fn unsupported_profile_old_and_new_spelling() {
    let f = classify(
        fixture!("unsupported-profile-error.txt"),
        false,
        NodeAccess::Ok,
    )
    .unwrap_err();
    assert_eq!(f.problem, Problem::ProfileUnsupported);
    assert_eq!(f.detail, "No usable encoding profile found.");
    assert_eq!(
        problem(
            fixture!("old-profile-not-found-error-4.x.txt"),
            NodeAccess::Ok
        ),
        Problem::ProfileUnsupported
    );
}

#[test]
fn missing_entrypoint_is_the_low_power_hint() {
    let f = classify(fixture!("low-power-only-error.txt"), false, NodeAccess::Ok).unwrap_err();
    assert_eq!(f.problem, Problem::EntrypointUnsupported);
    assert!(f.detail.contains("VAProfileHEVCMain"), "{}", f.detail);
    assert_eq!(
        problem(
            "[hevc_vaapi @ 0x1] Encoding entrypoint not found (17 / 6).\n",
            NodeAccess::Ok
        ),
        Problem::EntrypointUnsupported
    );
}

#[test]
fn rate_control_modes_are_read() {
    let f = classify(
        fixture!("rc-mode-unsupported-error.txt"),
        false,
        NodeAccess::Ok,
    )
    .unwrap_err();
    assert_eq!(f.problem, Problem::RateControlUnsupported);
    assert_eq!(f.supported_rc, vec![RateControl::Cqp]);
    assert_eq!(
        parse_supported_rc(
            "Driver does not support QVBR RC mode (supported modes: CQP, ICQ, VBR)."
        ),
        vec![RateControl::Cqp, RateControl::Icq]
    );
    assert!(parse_supported_rc("nothing here").is_empty());
}

#[test]
fn build_without_vaapi() {
    assert_eq!(
        problem(
            "[vost#0:0 @ 0x1] Unknown encoder 'hevc_vaapi'\n",
            NodeAccess::Ok
        ),
        Problem::NotInBuild
    );
    // The static 7.0 build has no VAAPI device type at all; the generic message is kept.
    let f = classify(
        fixture!("no-vaapi-in-build-7.0-static.txt"),
        false,
        NodeAccess::Ok,
    )
    .unwrap_err();
    assert_eq!(f.problem, Problem::Failed);
    assert_eq!(f.detail, "Device creation failed: -12.");
    assert_eq!(
        classify("", false, NodeAccess::Ok).unwrap_err().detail,
        "ffmpeg failed without a message"
    );
}

#[test]
fn driver_names() {
    let ihd = parse_driver(fixture!("success-verbose-ihd.txt"));
    assert_eq!(ihd.name.as_deref(), Some("iHD"));
    assert_eq!(
        ihd.vendor.as_deref(),
        Some("Intel iHD driver for Intel(R) Gen Graphics - 23.1.1 ()")
    );
    let amd = parse_driver(fixture!("success-verbose-radeonsi.txt"));
    assert_eq!(amd.name.as_deref(), Some("radeonsi"));
    assert!(
        amd.vendor
            .unwrap()
            .starts_with("Mesa Gallium driver 22.3.6 for AMD")
    );
    let requested = parse_driver("libva info: User environment variable requested driver 'i965'\n");
    assert_eq!(requested.name.as_deref(), Some("i965"));
    let vendor_only = parse_driver(
        "[AVHWDeviceContext @ 0x1] VAAPI driver: Intel i965 driver for Intel(R) Kaby Lake - 2.4.1.\n",
    );
    assert_eq!(vendor_only.name.as_deref(), Some("i965"));
    assert_eq!(
        parse_driver(fixture!("no-device-error-5.1.txt")),
        DriverInfo::default()
    );
    for p in [
        Problem::NoDevice,
        Problem::PermissionDenied,
        Problem::DriverMissing,
    ] {
        assert!(!p.code().is_empty() && !p.explain().is_empty());
    }
}
