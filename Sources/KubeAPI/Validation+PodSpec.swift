import Foundation

/// PodSpec validation: `ValidatePodSpec` and the container, probe, volume, env, port and resource
/// validators of `pkg/apis/core/validation/validation.go`.
extension Validation {
    enum PodContext { case pod, template }

    static func validatePodSpec(_ spec: PodSpec, path: String, context: PodContext) -> [FieldError] {
        var errs: [FieldError] = []
        let (volumes, volumeErrs) = validateVolumes(spec.volumes ?? [], path: "\(path).volumes")
        errs += volumeErrs
        let grace = spec.terminationGracePeriodSeconds
        errs += validateContainers(spec.containers, initContainers: spec.initContainers ?? [], volumes: volumes, grace: grace, path: "\(path).containers")
        errs += validateInitContainers(spec.initContainers ?? [], others: spec.containers, volumes: volumes, grace: grace, path: "\(path).initContainers")
        errs += validateEphemeralContainers(spec.ephemeralContainers ?? [], spec: spec, volumes: volumes, path: "\(path).ephemeralContainers")
        errs += validateRestartPolicy(spec.restartPolicy ?? "", "\(path).restartPolicy")
        switch spec.dnsPolicy ?? "" {
        case "ClusterFirstWithHostNet", "ClusterFirst", "Default", "None": break
        case "": errs.append(.required("\(path).dnsPolicy"))
        case let other: errs.append(.notSupported("\(path).dnsPolicy", other, ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"]))
        }
        errs += validateLabels(spec.nodeSelector, path: "\(path).nodeSelector")
        if let sa = spec.serviceAccountName, !sa.isEmpty {
            for msg in isDNS1123Subdomain(sa) { errs.append(.invalid("\(path).serviceAccountName", q(sa), msg)) }
        }
        if let h = spec.hostname, !h.isEmpty {
            for msg in isDNS1123Label(h) { errs.append(.invalid("\(path).hostname", q(h), msg)) }
        }
        if let s = spec.subdomain, !s.isEmpty {
            for msg in isDNS1123Label(s) { errs.append(.invalid("\(path).subdomain", q(s), msg)) }
        }
        if let deadline = spec.activeDeadlineSeconds, deadline < 1 || deadline > Int64(Int32.max) {
            errs.append(.invalid("\(path).activeDeadlineSeconds", String(deadline), "must be between 1 and 2147483647, inclusive"))
        }
        errs += nonNegative(grace, "\(path).terminationGracePeriodSeconds")
        errs += validatePodSecurityContext(spec.securityContext, path: "\(path).securityContext")
        if let resources = spec.resources {
            errs += validateResources(resources, path: "\(path).resources")
        }
        // The internal API keeps hostPID and shareProcessNamespace in the pod's security context,
        // hence the path.
        if spec.shareProcessNamespace == true && spec.hostPID == true {
            errs.append(.invalid("\(path).securityContext.shareProcessNamespace", "true", "ShareProcessNamespace and HostPID cannot both be enabled"))
        }
        return errs
    }

    /// `validateRestartPolicy`.
    static func validateRestartPolicy(_ policy: String, _ path: String) -> [FieldError] {
        switch policy {
        case "Always", "OnFailure", "Never": return []
        case "": return [.required(path)]
        default: return [.notSupported(path, policy, ["Always", "OnFailure", "Never"])]
        }
    }

    // MARK: Containers

    /// `validateContainers`: at least one, unique names, probes and lifecycle allowed,
    /// no per-container `restartPolicy`.
    static func validateContainers(_ containers: [Container], initContainers: [Container], volumes: [String: Volume], grace: Int64?, path: String) -> [FieldError] {
        var errs: [FieldError] = []
        if containers.isEmpty { return [.required(path)] }
        var names = Set<String>()
        for (i, c) in containers.enumerated() {
            let p = "\(path)[\(i)]"
            errs += validateContainerCommon(c, volumes: volumes, path: p)
            if names.contains(c.name) { errs.append(.duplicate("\(p).name", c.name)) } else { names.insert(c.name) }
            errs += validateProbesAndLifecycle(c, grace: grace, path: p)
            if c.restartPolicy != nil { errs.append(.forbidden("\(p).restartPolicy", "may not be set for non-init containers")) }
        }
        return errs
    }

    /// `validateInitContainers`: names unique across init and regular containers; `restartPolicy`
    /// may only be `Always` (a sidecar); classic init containers may not have probes or hooks,
    /// since nothing would act on them before the container exits.
    static func validateInitContainers(_ containers: [Container], others: [Container], volumes: [String: Volume], grace: Int64?, path: String) -> [FieldError] {
        var errs: [FieldError] = []
        var names = Set(others.map(\.name))
        for (i, c) in containers.enumerated() {
            let p = "\(path)[\(i)]"
            errs += validateContainerCommon(c, volumes: volumes, path: p)
            var sidecar = false
            if let policy = c.restartPolicy {
                if policy != "Always" { errs.append(.notSupported("\(p).restartPolicy", policy, ["Always"])) }
                sidecar = policy == "Always"
            }
            if names.contains(c.name) { errs.append(.duplicate("\(p).name", c.name)) } else if !c.name.isEmpty { names.insert(c.name) }
            if sidecar {
                errs += validateProbesAndLifecycle(c, grace: grace, path: p)
            } else {
                let why = "may not be set for init containers without restartPolicy=Always"
                if c.lifecycle != nil { errs.append(.forbidden("\(p).lifecycle", why)) }
                if c.livenessProbe != nil { errs.append(.forbidden("\(p).livenessProbe", why)) }
                if c.readinessProbe != nil { errs.append(.forbidden("\(p).readinessProbe", why)) }
                if c.startupProbe != nil { errs.append(.forbidden("\(p).startupProbe", why)) }
            }
        }
        return errs
    }

    /// `validateContainerCommon`: what every kind of container must satisfy.
    static func validateContainerCommon(_ c: Container, volumes: [String: Volume], path p: String) -> [FieldError] {
        var errs: [FieldError] = []
        if c.name.isEmpty {
            errs.append(.required("\(p).name"))
        } else {
            for msg in isDNS1123Label(c.name) { errs.append(.invalid("\(p).name", q(c.name), msg)) }
        }
        // Kubernetes requires the image on Pods only (a webhook may fill a template's); Tandem has
        // no such webhook, so an image-less template could only fail later, in every Pod it makes.
        let image = c.image ?? ""
        if image.isEmpty {
            errs.append(.required("\(p).image"))
        } else if image != image.trimmingCharacters(in: .whitespaces) {
            errs.append(.invalid("\(p).image", q(image), "must not have leading or trailing whitespace"))
        }
        errs += validateContainerPorts(c.ports ?? [], path: "\(p).ports")
        errs += validateEnv(c.env ?? [], path: "\(p).env")
        errs += validateEnvFrom(c.envFrom ?? [], path: "\(p).envFrom")
        errs += validateVolumeMounts(c.volumeMounts ?? [], volumes: volumes, path: "\(p).volumeMounts")
        switch c.imagePullPolicy ?? "" {
        case "Always", "IfNotPresent", "Never": break
        case "": errs.append(.required("\(p).imagePullPolicy"))
        case let other: errs.append(.notSupported("\(p).imagePullPolicy", other, ["Always", "IfNotPresent", "Never"]))
        }
        switch c.terminationMessagePolicy ?? "" {
        case "File", "FallbackToLogsOnError": break
        case "": errs.append(.required("\(p).terminationMessagePolicy"))
        case let other: errs.append(.notSupported("\(p).terminationMessagePolicy", other, ["File", "FallbackToLogsOnError"]))
        }
        if let r = c.resources { errs += validateResources(r, path: "\(p).resources") }
        errs += validateSecurityContext(c.securityContext, path: "\(p).securityContext")
        return errs
    }

    /// `validateContainerPorts`.
    static func validateContainerPorts(_ ports: [ContainerPort], path: String) -> [FieldError] {
        var errs: [FieldError] = []
        var names = Set<String>()
        for (i, port) in ports.enumerated() {
            let p = "\(path)[\(i)]"
            if let name = port.name, !name.isEmpty {
                let msgs = isValidPortName(name)
                if !msgs.isEmpty {
                    errs += msgs.map { .invalid("\(p).name", q(name), $0) }
                } else if names.contains(name) {
                    errs.append(.duplicate("\(p).name", name))
                } else {
                    names.insert(name)
                }
            }
            if port.containerPort == 0 {
                errs.append(.required("\(p).containerPort"))
            } else {
                errs += isValidPortNum(port.containerPort).map { .invalid("\(p).containerPort", String(port.containerPort), $0) }
            }
            if let host = port.hostPort, host != 0 {
                errs += isValidPortNum(host).map { .invalid("\(p).hostPort", String(host), $0) }
            }
            switch port.protocol ?? "" {
            case "TCP", "UDP", "SCTP": break
            case "": errs.append(.required("\(p).protocol"))
            case let other: errs.append(.notSupported("\(p).protocol", other, ["SCTP", "TCP", "UDP"]))
            }
        }
        return errs
    }

    // MARK: Env

    static let envFieldPaths = ["metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.serviceAccountName",
                                "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs"]
    static let volumeFieldPaths = ["metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace", "metadata.uid"]
    static let resourceFieldPaths = ["limits.cpu", "limits.ephemeral-storage", "limits.memory", "requests.cpu", "requests.ephemeral-storage", "requests.memory"]

    /// `ValidateEnv` and `validateEnvVarValueFrom`.
    static func validateEnv(_ env: [EnvVar], path: String) -> [FieldError] {
        var errs: [FieldError] = []
        for (i, ev) in env.enumerated() {
            let p = "\(path)[\(i)]"
            if ev.name.isEmpty {
                errs.append(.required("\(p).name"))
            } else {
                errs += isRelaxedEnvVarName(ev.name).map { .invalid("\(p).name", q(ev.name), $0) }
            }
            guard let from = ev.valueFrom else { continue }
            let fp = "\(p).valueFrom"
            var sources = 0
            if let ref = from.fieldRef {
                sources += 1
                errs += validateObjectFieldSelector(ref, allowed: envFieldPaths, path: "\(fp).fieldRef")
            }
            if let ref = from.resourceFieldRef {
                sources += 1
                errs += validateResourceFieldSelector(ref, path: "\(fp).resourceFieldRef", volume: false)
            }
            if let ref = from.configMapKeyRef {
                sources += 1
                errs += validateKeySelector(ref, path: "\(fp).configMapKeyRef")
            }
            if let ref = from.secretKeyRef {
                sources += 1
                errs += validateKeySelector(ref, path: "\(fp).secretKeyRef")
            }
            if sources == 0 {
                errs.append(.invalid(fp, "\"\"", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"))
            } else if !(ev.value ?? "").isEmpty {
                errs.append(.invalid(fp, "\"\"", "may not be specified when `value` is not empty"))
            } else if sources > 1 {
                errs.append(.invalid(fp, "\"\"", "may not have more than one field specified at a time"))
            }
        }
        return errs
    }

    /// `validateObjectFieldSelector`, including `ConvertDownwardAPIFieldLabel`'s refusal of paths
    /// that are not pod field labels at all.
    static func validateObjectFieldSelector(_ ref: ObjectFieldSelector, allowed: [String], path: String) -> [FieldError] {
        let apiVersion = ref.apiVersion ?? ""
        if apiVersion.isEmpty { return [.required("\(path).apiVersion")] }
        if ref.fieldPath.isEmpty { return [.required("\(path).fieldPath")] }
        if apiVersion != "v1" {
            return [.invalid("\(path).fieldPath", q(ref.fieldPath), "error converting fieldPath: unsupported pod version: \(apiVersion)")]
        }
        if let split = FieldPath.splitMaybeSubscripted(ref.fieldPath) {
            let (field, key) = split
            switch field {
            case "metadata.annotations": return isQualifiedName(key.lowercased()).map { .invalid(path, q(key.lowercased()), $0) }
            case "metadata.labels": return isQualifiedName(key).map { .invalid(path, q(key), $0) }
            default: return [.invalid("\(path).fieldPath", q(ref.fieldPath), "error converting fieldPath: field label does not support subscript: \(ref.fieldPath)")]
            }
        }
        let labels = ["metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName",
                      "spec.restartPolicy", "spec.serviceAccountName", "spec.schedulerName", "status.phase", "status.hostIP",
                      "status.hostIPs", "status.podIP", "status.podIPs", "spec.host"]
        guard labels.contains(ref.fieldPath) else {
            return [.invalid("\(path).fieldPath", q(ref.fieldPath), "error converting fieldPath: field label not supported: \(ref.fieldPath)")]
        }
        let internalPath = ref.fieldPath == "spec.host" ? "spec.nodeName" : ref.fieldPath
        if !allowed.contains(internalPath) { return [.notSupported("\(path).fieldPath", internalPath, allowed)] }
        return []
    }

    /// `validateContainerResourceFieldSelector`.
    static func validateResourceFieldSelector(_ ref: ResourceFieldSelector, path: String, volume: Bool) -> [FieldError] {
        var errs: [FieldError] = []
        if volume && (ref.containerName ?? "").isEmpty { errs.append(.required("\(path).containerName")) }
        if ref.resource.isEmpty {
            errs.append(.required("\(path).resource"))
        } else if !resourceFieldPaths.contains(ref.resource) && !ref.resource.hasPrefix("limits.hugepages-") && !ref.resource.hasPrefix("requests.hugepages-") {
            errs.append(.notSupported("\(path).resource", ref.resource, resourceFieldPaths))
        }
        return errs
    }

    /// `validateConfigMapKeySelector` / `validateSecretKeySelector`.
    static func validateKeySelector(_ ref: KeySelector, path: String) -> [FieldError] {
        var errs: [FieldError] = []
        let name = ref.name ?? ""
        errs += isDNS1123Subdomain(name).map { .invalid("\(path).name", q(name), $0) }
        if ref.key.isEmpty {
            errs.append(.required("\(path).key"))
        } else {
            errs += isConfigMapKey(ref.key).map { .invalid("\(path).key", q(ref.key), $0) }
        }
        return errs
    }

    /// `ValidateEnvFrom`. Note the API server reports a missing source on `envFrom`, not `envFrom[i]`.
    static func validateEnvFrom(_ envFrom: [EnvFromSource], path: String) -> [FieldError] {
        var errs: [FieldError] = []
        for (i, ev) in envFrom.enumerated() {
            let p = "\(path)[\(i)]"
            if let prefix = ev.prefix, !prefix.isEmpty {
                errs += isRelaxedEnvVarName(prefix).map { .invalid("\(p).prefix", q(prefix), $0) }
            }
            var sources = 0
            for (key, ref) in [("configMapRef", ev.configMapRef), ("secretRef", ev.secretRef)] {
                guard let ref else { continue }
                sources += 1
                let name = ref.name ?? ""
                if name.isEmpty {
                    errs.append(.required("\(p).\(key).name"))
                } else {
                    errs += isDNS1123Subdomain(name).map { .invalid("\(p).\(key).name", q(name), $0) }
                }
            }
            if sources == 0 {
                errs.append(.invalid(path, "\"\"", "must specify one of: `configMapRef` or `secretRef`"))
            } else if sources > 1 {
                errs.append(.invalid(path, "\"\"", "may not have more than one field specified at a time"))
            }
        }
        return errs
    }

    // MARK: Resources

    /// `ValidateResourceRequirements`: known or qualified names, non-negative quantities,
    /// requests no larger than limits.
    static func validateResources(_ r: ResourceRequirements, path: String) -> [FieldError] {
        var errs: [FieldError] = []
        func check(_ name: String, _ quantity: Quantity, _ p: String) {
            errs += isQualifiedName(name).map { .invalid(p, q(name), $0) }
            if !name.contains("/") {
                if !["cpu", "memory", "ephemeral-storage"].contains(name) && !name.hasPrefix("hugepages-") {
                    errs.append(.invalid(p, q(name), "must be a standard resource type or fully qualified"))
                }
            }
            // Normally caught while decoding (see `decodeErrors`); kept for objects built in code.
            if let problem = quantityProblem(quantity.string) {
                errs.append(.invalid(p, q(quantity.string), problem))
                return
            }
            if let value = quantity.value, value < 0 { errs.append(.invalid(p, q(quantity.string), "must be greater than or equal to 0")) }
        }
        for name in (r.limits ?? [:]).keys.sorted() { check(name, r.limits![name]!, "\(path).limits[\(name)]") }
        for name in (r.requests ?? [:]).keys.sorted() {
            let request = r.requests![name]!
            check(name, request, "\(path).requests[\(name)]")
            if let limit = r.limits?[name], let l = limit.value, let v = request.value, v > l {
                errs.append(.invalid("\(path).requests", q(request.string), "must be less than or equal to \(name) limit of \(limit.string)"))
            }
        }
        return errs
    }

    // MARK: Probes and lifecycle

    static func validateProbesAndLifecycle(_ c: Container, grace: Int64?, path p: String) -> [FieldError] {
        var errs: [FieldError] = []
        if let lifecycle = c.lifecycle {
            for (key, handler) in [("postStart", lifecycle.postStart), ("preStop", lifecycle.preStop)] {
                guard let handler else { continue }
                errs += validateHandler(exec: handler.exec, httpGet: handler.httpGet, tcpSocket: handler.tcpSocket, grpc: nil, sleep: handler.sleep,
                                        grace: grace, path: "\(p).lifecycle.\(key)")
            }
        }
        if let probe = c.livenessProbe {
            errs += validateProbe(probe, grace: grace, path: "\(p).livenessProbe")
            if let s = probe.successThreshold, s != 1 { errs.append(.invalid("\(p).livenessProbe.successThreshold", String(s), "must be 1")) }
        }
        if let probe = c.readinessProbe {
            errs += validateProbe(probe, grace: grace, path: "\(p).readinessProbe")
            if let t = probe.terminationGracePeriodSeconds {
                errs.append(.invalid("\(p).readinessProbe.terminationGracePeriodSeconds", String(t), "must not be set for readinessProbes"))
            }
        }
        if let probe = c.startupProbe {
            errs += validateProbe(probe, grace: grace, path: "\(p).startupProbe")
            if let s = probe.successThreshold, s != 1 { errs.append(.invalid("\(p).startupProbe.successThreshold", String(s), "must be 1")) }
        }
        return errs
    }

    /// `validateProbe`.
    static func validateProbe(_ probe: Probe, grace: Int64?, path: String) -> [FieldError] {
        var errs = validateHandler(exec: probe.exec, httpGet: probe.httpGet, tcpSocket: probe.tcpSocket, grpc: probe.grpc, sleep: nil, grace: grace, path: path)
        errs += nonNegative(probe.initialDelaySeconds, "\(path).initialDelaySeconds")
        errs += nonNegative(probe.timeoutSeconds, "\(path).timeoutSeconds")
        errs += nonNegative(probe.periodSeconds, "\(path).periodSeconds")
        errs += nonNegative(probe.successThreshold, "\(path).successThreshold")
        errs += nonNegative(probe.failureThreshold, "\(path).failureThreshold")
        if let t = probe.terminationGracePeriodSeconds, t <= 0 {
            errs.append(.invalid("\(path).terminationGracePeriodSeconds", String(t), "must be greater than 0"))
        }
        return errs
    }

    /// `validateHandler`: exactly one handler; the second and later ones are reported on their own path.
    static func validateHandler(exec: ExecAction?, httpGet: HTTPGetAction?, tcpSocket: TCPSocketAction?, grpc: GRPCAction?, sleep: SleepAction?,
                                grace: Int64?, path: String) -> [FieldError] {
        var errs: [FieldError] = []
        var count = 0
        func one(_ key: String, _ present: Bool, _ check: () -> [FieldError]) {
            guard present else { return }
            if count > 0 {
                errs.append(.forbidden("\(path).\(key)", "may not specify more than 1 handler type"))
            } else {
                count += 1
                errs += check()
            }
        }
        one("exec", exec != nil) { (exec!.command ?? []).isEmpty ? [.required("\(path).exec.command")] : [] }
        one("httpGet", httpGet != nil) {
            var e: [FieldError] = []
            if (httpGet!.path ?? "").isEmpty { e.append(.required("\(path).httpGet.path")) }
            e += validatePortNumOrName(httpGet!.port, "\(path).httpGet.port")
            let scheme = httpGet!.scheme ?? ""
            if scheme != "HTTP" && scheme != "HTTPS" { e.append(.notSupported("\(path).httpGet.scheme", scheme, ["HTTP", "HTTPS"])) }
            return e
        }
        one("tcpSocket", tcpSocket != nil) { validatePortNumOrName(tcpSocket!.port, "\(path).tcpSocket.port") }
        one("grpc", grpc != nil) { isValidPortNum(grpc!.port).map { .invalid("\(path).grpc.port", String(grpc!.port), $0) } }
        one("sleep", sleep != nil) {
            // validateSleepAction (AllowPodLifecycleSleepActionZeroValue off).
            guard let grace, sleep!.seconds <= 0 || sleep!.seconds > grace else { return [] }
            return [.invalid("\(path).sleep", String(sleep!.seconds),
                             "must be greater than 0 and less than terminationGracePeriodSeconds (\(grace)). Enable AllowPodLifecycleSleepActionZeroValue feature gate for zero sleep.")]
        }
        if count == 0 { errs.append(.required(path, "must specify a handler type")) }
        return errs
    }
}
