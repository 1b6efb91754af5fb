/// Volume and volume-mount validation: `ValidateVolumes`, `validateVolumeSource` and
/// `ValidateVolumeMounts` of `pkg/apis/core/validation/validation.go`.
extension Validation {
    static let fileModeMessage = "must be a number between 0 and 0777 (octal), both inclusive"
    static let hostPathTypes = ["", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"]

    /// `ValidateVolumes`. Returns the volumes that validated: as in the API server, a mount of a
    /// volume that is itself invalid is also reported as not found.
    static func validateVolumes(_ volumes: [Volume], path: String) -> ([String: Volume], [FieldError]) {
        var valid: [String: Volume] = [:]
        var names = Set<String>()
        var errs: [FieldError] = []
        for (i, v) in volumes.enumerated() {
            let p = "\(path)[\(i)]"
            var el = validateVolumeSource(v, path: p)
            if v.name.isEmpty {
                el.append(.required("\(p).name"))
            } else {
                el += isDNS1123Label(v.name).map { .invalid("\(p).name", q(v.name), $0) }
            }
            if names.contains(v.name) { el.append(.duplicate("\(p).name", v.name)) }
            if el.isEmpty {
                names.insert(v.name)
                valid[v.name] = v
            } else {
                errs += el
            }
        }
        return (valid, errs)
    }

    /// `validateVolumeSource`: exactly one source; each extra source is Forbidden on its own path,
    /// in the API server's order of checking.
    static func validateVolumeSource(_ v: Volume, path: String) -> [FieldError] {
        var errs: [FieldError] = []
        var count = 0
        func one(_ key: String, _ present: Bool, _ check: () -> [FieldError]) {
            guard present else { return }
            if count > 0 {
                errs.append(.forbidden("\(path).\(key)", "may not specify more than 1 volume type"))
            } else {
                count += 1
                errs += check()
            }
        }
        one("hostPath", v.hostPath != nil) {
            let hp = v.hostPath!
            let p = "\(path).hostPath"
            if hp.path.isEmpty { return [.required("\(p).path")] }
            var e = noBacksteps(hp.path, "\(p).path")
            let type = hp.type ?? ""
            if !hostPathTypes.contains(type) { e.append(.notSupported("\(p).type", type, hostPathTypes)) }
            return e
        }
        one("emptyDir", v.emptyDir != nil) {
            if let limit = v.emptyDir!.sizeLimit, let value = limit.value, value < 0 {
                return [.forbidden("\(path).emptyDir.sizeLimit", "SizeLimit field must be a valid resource quantity")]
            }
            return []
        }
        one("secret", v.secret != nil) {
            let s = v.secret!
            let p = "\(path).secret"
            var e: [FieldError] = []
            if (s.secretName ?? "").isEmpty { e.append(.required("\(p).secretName")) }
            e += fileMode(s.defaultMode, "\(p).defaultMode")
            for (i, item) in (s.items ?? []).enumerated() { e += validateKeyToPath(item, "\(p).items[\(i)]") }
            return e
        }
        one("nfs", v.nfs != nil) { [] }
        one("persistentVolumeClaim", v.persistentVolumeClaim != nil) {
            (v.persistentVolumeClaim?["claimName"]?.stringValue ?? "").isEmpty ? [.required("\(path).persistentVolumeClaim.claimName")] : []
        }
        one("downwardAPI", v.downwardAPI != nil) {
            let d = v.downwardAPI!
            let p = "\(path).downwardAPI"
            var e = fileMode(d.defaultMode, "\(p).defaultMode")
            // The API server validates every item against the source's path, not items[i].
            for item in d.items ?? [] { e += validateDownwardAPIFile(item, p) }
            return e
        }
        one("projected", v.projected != nil) { validateProjected(v.projected!, "\(path).projected") }
        one("configMap", v.configMap != nil) {
            let c = v.configMap!
            let p = "\(path).configMap"
            var e: [FieldError] = []
            if (c.name ?? "").isEmpty { e.append(.required("\(p).name")) }
            e += fileMode(c.defaultMode, "\(p).defaultMode")
            for (i, item) in (c.items ?? []).enumerated() { e += validateKeyToPath(item, "\(p).items[\(i)]") }
            return e
        }
        one("csi", v.csi != nil) { [] }
        one("ephemeral", v.ephemeral != nil) { [] }
        one("image", v.image != nil) { [] }
        if count == 0 { errs.append(.required(path, "must specify a volume type")) }
        return errs
    }

    static func fileMode(_ mode: Int32?, _ path: String) -> [FieldError] {
        guard let mode, mode < 0 || mode > 0o777 else { return [] }
        return [.invalid(path, String(mode), fileModeMessage)]
    }

    /// `validatePathNoBacksteps`.
    static func noBacksteps(_ path: String, _ field: String) -> [FieldError] {
        path.split(separator: "/", omittingEmptySubsequences: false).contains("..") ? [.invalid(field, q(path), "must not contain '..'")] : []
    }

    /// `validateLocalDescendingPath`.
    static func localDescendingPath(_ path: String, _ field: String) -> [FieldError] {
        var errs: [FieldError] = []
        if path.hasPrefix("/") { errs.append(.invalid(field, q(path), "must be a relative path")) }
        return errs + noBacksteps(path, field)
    }

    /// `ValidateLocalNonReservedPath`: also keeps `..data`-style names free for AtomicWriter.
    static func localNonReservedPath(_ path: String, _ field: String) -> [FieldError] {
        var errs = localDescendingPath(path, field)
        if path.hasPrefix("..") && !path.hasPrefix("../") { errs.append(.invalid(field, q(path), "must not start with '..'")) }
        return errs
    }

    /// `validateKeyToPath`.
    static func validateKeyToPath(_ kp: KeyToPath, _ path: String) -> [FieldError] {
        var errs: [FieldError] = []
        if kp.key.isEmpty { errs.append(.required("\(path).key")) }
        if kp.path.isEmpty { errs.append(.required("\(path).path")) }
        errs += localNonReservedPath(kp.path, "\(path).path")
        errs += fileMode(kp.mode, "\(path).mode")
        return errs
    }

    /// `validateDownwardAPIVolumeFile`.
    static func validateDownwardAPIFile(_ file: DownwardAPIVolumeFile, _ path: String) -> [FieldError] {
        var errs: [FieldError] = []
        if file.path.isEmpty { errs.append(.required("\(path).path")) }
        errs += localNonReservedPath(file.path, "\(path).path")
        if let ref = file.fieldRef {
            errs += validateObjectFieldSelector(ref, allowed: volumeFieldPaths, path: "\(path).fieldRef")
            if file.resourceFieldRef != nil { errs.append(.invalid(path, "\"resource\"", "fieldRef and resourceFieldRef can not be specified simultaneously")) }
        } else if let ref = file.resourceFieldRef {
            errs += validateResourceFieldSelector(ref, path: "\(path).resourceFieldRef", volume: true)
        } else {
            errs.append(.required(path, "one of fieldRef and resourceFieldRef is required"))
        }
        errs += fileMode(file.mode, "\(path).mode")
        return errs
    }

    /// `validateProjectedVolumeSource`.
    static func validateProjected(_ projected: ProjectedVolumeSource, _ path: String) -> [FieldError] {
        var errs = fileMode(projected.defaultMode, "\(path).defaultMode")
        for (i, source) in (projected.sources ?? []).enumerated() {
            let p = "\(path).sources[\(i)]"
            var count = 0
            func one(_ key: String, _ present: Bool, _ check: () -> [FieldError]) {
                guard present else { return }
                count += 1
                if count > 1 { errs.append(.forbidden("\(p).\(key)", "may not specify more than 1 volume type")) } else { errs += check() }
            }
            one("secret", source.secret != nil) {
                var e: [FieldError] = []
                if (source.secret!.name ?? "").isEmpty { e.append(.required("\(p).secret.name")) }
                for (j, item) in (source.secret!.items ?? []).enumerated() { e += validateKeyToPath(item, "\(p).secret.items[\(j)]") }
                return e
            }
            one("configMap", source.configMap != nil) {
                var e: [FieldError] = []
                if (source.configMap!.name ?? "").isEmpty { e.append(.required("\(p).configMap.name")) }
                for (j, item) in (source.configMap!.items ?? []).enumerated() { e += validateKeyToPath(item, "\(p).configMap.items[\(j)]") }
                return e
            }
            one("downwardAPI", source.downwardAPI != nil) {
                (source.downwardAPI!.items ?? []).flatMap { validateDownwardAPIFile($0, "\(p).downwardAPI") }
            }
            one("serviceAccountToken", source.serviceAccountToken != nil) {
                // Unset, the lifetime defaults to an hour (`SetDefaults_ServiceAccountTokenProjection`).
                let token = source.serviceAccountToken!
                let seconds: Int64 = if case .int(let s)? = token["expirationSeconds"] { s } else { 3600 }
                var e: [FieldError] = []
                if seconds < 600 {
                    e.append(.invalid("\(p).serviceAccountToken.expirationSeconds", "\(seconds)", "may not specify a duration less than 10 minutes"))
                }
                if seconds > 1 << 32 {
                    e.append(.invalid("\(p).serviceAccountToken.expirationSeconds", "\(seconds)", "may not specify a duration larger than 2^32 seconds"))
                }
                // The API server names the source's path here, not the token's.
                if (token["path"]?.stringValue ?? "").isEmpty { e.append(.required("\(p).path")) }
                return e
            }
            one("clusterTrustBundle", source.clusterTrustBundle != nil) { [] }
            if count == 0 { errs.append(.required(p, "must specify exactly 1 volume type")) }
        }
        return errs
    }

    /// `ValidateVolumeMounts`. `subPath` errors carry the list's path, not the item's, as in the
    /// API server.
    static func validateVolumeMounts(_ mounts: [VolumeMount], volumes: [String: Volume], path: String) -> [FieldError] {
        var errs: [FieldError] = []
        var mountPoints = Set<String>()
        for (i, m) in mounts.enumerated() {
            let p = "\(path)[\(i)]"
            if m.name.isEmpty { errs.append(.required("\(p).name")) }
            if volumes[m.name] == nil { errs.append(.notFound("\(p).name", m.name)) }
            if m.mountPath.isEmpty { errs.append(.required("\(p).mountPath")) }
            if mountPoints.contains(m.mountPath) { errs.append(.invalid("\(p).mountPath", q(m.mountPath), "must be unique")) }
            mountPoints.insert(m.mountPath)
            if let sub = m.subPath, !sub.isEmpty { errs += localDescendingPath(sub, "\(path).subPath") }
            if let expr = m.subPathExpr, !expr.isEmpty {
                if let sub = m.subPath, !sub.isEmpty { errs.append(.invalid("\(p).subPathExpr", q(expr), "subPathExpr and subPath are mutually exclusive")) }
                errs += localDescendingPath(expr, "\(path).subPathExpr")
            }
            if let prop = m.mountPropagation, !["Bidirectional", "HostToContainer", "None"].contains(prop) {
                errs.append(.notSupported("\(p).mountPropagation", prop, ["Bidirectional", "HostToContainer", "None"]))
            }
        }
        return errs
    }
}
