/// `ValidatePodSecurityContext` and `ValidateSecurityContext` (pkg/apis/core/validation).
/// Capability names are not checked: the API server accepts any string and the runtime ignores
/// names it does not know.
extension Validation {
    static let idRangeMessage = "must be between 0 and 2147483647, inclusive"

    static func validID(_ id: Int64?, _ path: String) -> [FieldError] {
        guard let id, id < 0 || id > Int64(Int32.max) else { return [] }
        return [.invalid(path, String(id), idRangeMessage)]
    }

    static func validatePodSecurityContext(_ sc: PodSecurityContext?, path: String) -> [FieldError] {
        guard let sc else { return [] }
        var errs = validID(sc.runAsUser, "\(path).runAsUser") + validID(sc.runAsGroup, "\(path).runAsGroup")
        errs += validID(sc.fsGroup, "\(path).fsGroup")
        for (i, g) in (sc.supplementalGroups ?? []).enumerated() { errs += validID(g, "\(path).supplementalGroups[\(i)]") }
        if let policy = sc.fsGroupChangePolicy, !["OnRootMismatch", "Always"].contains(policy) {
            errs.append(.notSupported("\(path).fsGroupChangePolicy", policy, ["OnRootMismatch", "Always"]))
        }
        return errs
    }

    static func validateSecurityContext(_ sc: SecurityContext?, path: String) -> [FieldError] {
        guard let sc else { return [] }
        var errs = validID(sc.runAsUser, "\(path).runAsUser") + validID(sc.runAsGroup, "\(path).runAsGroup")
        if let procMount = sc.procMount, !["Default", "Unmasked"].contains(procMount) {
            errs.append(.notSupported("\(path).procMount", procMount, ["Default", "Unmasked"]))
        }
        if sc.allowPrivilegeEscalation == false {
            if sc.privileged == true {
                errs.append(.invalid(path, goValue(sc), "cannot set `allowPrivilegeEscalation` to false and `privileged` to true"))
            }
            if (sc.capabilities?.add ?? []).contains("CAP_SYS_ADMIN") {
                errs.append(.invalid(path, goValue(sc), "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN"))
            }
        }
        return errs
    }

    /// `%#v` of a `core.SecurityContext`, the value the API server prints for these errors. Go
    /// prints a set pointer field as its address, which differs on every request; Tandem prints
    /// `(*T)(0xc000000000)` in its place (documented in docs/isolation.md).
    static func goValue(_ sc: SecurityContext) -> String {
        func ptr(_ type: String, _ set: Bool) -> String { "(*\(type))(\(set ? "0xc000000000" : "nil"))" }
        let fields: [(String, String, Bool)] = [
            ("Capabilities", "core.Capabilities", sc.capabilities != nil), ("Privileged", "bool", sc.privileged != nil),
            ("SELinuxOptions", "core.SELinuxOptions", sc.seLinuxOptions != nil),
            ("WindowsOptions", "core.WindowsSecurityContextOptions", sc.windowsOptions != nil),
            ("RunAsUser", "int64", sc.runAsUser != nil), ("RunAsGroup", "int64", sc.runAsGroup != nil),
            ("RunAsNonRoot", "bool", sc.runAsNonRoot != nil), ("ReadOnlyRootFilesystem", "bool", sc.readOnlyRootFilesystem != nil),
            ("AllowPrivilegeEscalation", "bool", sc.allowPrivilegeEscalation != nil), ("ProcMount", "core.ProcMountType", sc.procMount != nil),
            ("SeccompProfile", "core.SeccompProfile", sc.seccompProfile != nil), ("AppArmorProfile", "core.AppArmorProfile", sc.appArmorProfile != nil),
        ]
        return "core.SecurityContext{" + fields.map { "\($0.0):\(ptr($0.1, $0.2))" }.joined(separator: ", ") + "}"
    }
}
