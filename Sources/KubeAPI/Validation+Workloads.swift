/// Workload validation: `pkg/apis/batch/validation` (Job, CronJob) and `pkg/apis/apps/validation`
/// (Deployment, ReplicaSet).
extension Validation {
    // MARK: Job

    /// `ValidateJob`: metadata, the selector rules (generated unless `manualSelector`), the spec.
    static func validateJob(_ job: Job) -> [FieldError] {
        var errs = validateObjectMeta(job.metadata, namespaced: true, name: isDNS1123Subdomain, path: "metadata")
        let spec = job.spec
        if spec.manualSelector == true {
            if let selector = spec.selector {
                errs += validateLabelSelector(selector, path: "spec.selector")
                if !selector.matches(spec.template.metadata?.labels ?? [:]) {
                    errs.append(.invalid("spec.template.metadata.labels", goMap(spec.template.metadata?.labels), "`selector` does not match template `labels`"))
                }
            } else {
                errs.append(.required("spec.selector"))
            }
        } else if let selector = spec.selector {
            // ValidateGeneratedSelector: without manualSelector the API server owns the selector.
            errs.append(.invalid("spec.selector", goSelector(selector), "`selector` not auto-generated"))
        }
        errs += validateJobSpec(spec, path: "spec")
        return errs
    }

    /// `validateJobSpec`: counts, completion mode, the pod template and its restart policy.
    static func validateJobSpec(_ spec: JobSpec, path: String) -> [FieldError] {
        var errs: [FieldError] = []
        errs += nonNegative(spec.parallelism, "\(path).parallelism")
        errs += nonNegative(spec.completions, "\(path).completions")
        errs += nonNegative(spec.activeDeadlineSeconds, "\(path).activeDeadlineSeconds")
        errs += nonNegative(spec.backoffLimit, "\(path).backoffLimit")
        errs += nonNegative(spec.ttlSecondsAfterFinished, "\(path).ttlSecondsAfterFinished")
        if let mode = spec.completionMode {
            if mode != "NonIndexed" && mode != "Indexed" {
                errs.append(.notSupported("\(path).completionMode", mode, ["NonIndexed", "Indexed"]))
            }
            if mode == "Indexed" {
                if spec.completions == nil { errs.append(.required("\(path).completions", "when completion mode is Indexed")) }
                if let p = spec.parallelism, p > 100_000 {
                    errs.append(.invalid("\(path).parallelism", String(p), "must be less than or equal to 100000 when completion mode is Indexed"))
                }
            }
        }
        if let policy = spec.podReplacementPolicy, policy != "TerminatingOrFailed" && policy != "Failed" {
            errs.append(.notSupported("\(path).podReplacementPolicy", policy, ["TerminatingOrFailed", "Failed"]))
        }
        errs += validatePodTemplateSpec(spec.template, path: "\(path).template")
        // `validateJobSpec`: `Always` is what defaulting makes of an unset policy, so it (like an
        // empty one) is reported as missing; a policy other than Never beside a podFailurePolicy too.
        let restart = spec.template.spec.restartPolicy ?? ""
        if restart == "Always" || restart.isEmpty {
            errs.append(.required("\(path).template.spec.restartPolicy", #"valid values: "OnFailure", "Never""#))
        } else if restart != "OnFailure" && restart != "Never" {
            errs.append(.notSupported("\(path).template.spec.restartPolicy", restart, ["OnFailure", "Never"]))
        } else if spec.podFailurePolicy != nil && restart != "Never" {
            errs.append(.invalid("\(path).template.spec.restartPolicy", "\"\(restart)\"", #"only "Never" is supported when podFailurePolicy is specified"#))
        }
        return errs
    }

    /// `ValidatePodTemplateSpec`: template labels and annotations, then the pod spec.
    static func validatePodTemplateSpec(_ template: PodTemplateSpec, path: String) -> [FieldError] {
        var errs = validateLabels(template.metadata?.labels, path: "\(path).metadata.labels")
        errs += validateAnnotations(template.metadata?.annotations, path: "\(path).metadata.annotations")
        errs += validatePodSpec(template.spec, path: "\(path).spec", context: .template)
        if !(template.spec.ephemeralContainers ?? []).isEmpty {
            errs.append(.forbidden("\(path).spec.ephemeralContainers", "ephemeral containers not allowed in pod template"))
        }
        return errs
    }

    // MARK: CronJob

    /// `ValidateCronJobCreate`.
    static func validateCronJob(_ cronJob: CronJob) -> [FieldError] {
        var errs = validateObjectMeta(cronJob.metadata, namespaced: true, name: isDNS1123Subdomain, path: "metadata")
        let spec = cronJob.spec
        if spec.schedule.isEmpty {
            errs.append(.required("spec.schedule"))
        } else {
            if let problem = CronSchedule.parseError(spec.schedule) {
                errs.append(.invalid("spec.schedule", q(spec.schedule), problem))
            }
            if spec.schedule.contains("TZ") {
                errs.append(.invalid("spec.schedule", q(spec.schedule), "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"))
            }
        }
        errs += nonNegative(spec.startingDeadlineSeconds, "spec.startingDeadlineSeconds")
        if let tz = spec.timeZone { errs += validateTimeZone(tz, "spec.timeZone") }
        switch spec.concurrencyPolicy ?? "" {
        case "Allow", "Forbid", "Replace": break
        case "": errs.append(.required("spec.concurrencyPolicy"))
        case let other: errs.append(.notSupported("spec.concurrencyPolicy", other, ["Allow", "Forbid", "Replace"]))
        }
        // ValidateJobTemplateSpec: the controller generates each Job's selector.
        let jobSpec = spec.jobTemplate.spec
        errs += validateJobSpec(jobSpec, path: "spec.jobTemplate.spec")
        if let selector = jobSpec.selector {
            errs.append(.invalid("spec.jobTemplate.spec.selector", goSelector(selector), "`selector` will be auto-generated"))
        }
        if jobSpec.manualSelector == true {
            errs.append(.notSupported("spec.jobTemplate.spec.manualSelector", "true", ["nil", "false"]))
        }
        errs += nonNegative(spec.successfulJobsHistoryLimit, "spec.successfulJobsHistoryLimit")
        errs += nonNegative(spec.failedJobsHistoryLimit, "spec.failedJobsHistoryLimit")
        // Job names are the CronJob's plus an 11-character suffix and must stay DNS labels (63).
        if let name = cronJob.metadata.name, name.count > 52 {
            errs.append(.invalid("metadata.name", q(name), "must be no more than 52 characters"))
        }
        return errs
    }

    /// `validateTimeZone`: what Go's `time.LoadLocation` accepts, checked against the zoneinfo database.
    static func validateTimeZone(_ tz: String, _ path: String) -> [FieldError] {
        if tz.isEmpty { return [.invalid(path, q(tz), "timeZone must be nil or non-empty string")] }
        if tz.lowercased() == "local" {
            return [.invalid(path, q(tz), "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones")]
        }
        let partsOK = tz.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { part in
            part != "." && part != ".." && !part.hasPrefix("-") && !part.isEmpty
                && part.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_+".contains($0)) }
        }
        if tz == "UTC" && partsOK { return [] }
        if !partsOK || !knownTimeZone(tz) { return [.invalid(path, q(tz), "unknown time zone \(tz)")] }
        return []
    }

    static func knownTimeZone(_ tz: String) -> Bool {
        for dir in ["/usr/share/zoneinfo/", "/usr/share/lib/zoneinfo/", "/usr/lib/locale/TZ/"] {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: dir + tz, isDirectory: &isDir), !isDir.boolValue { return true }
        }
        return false
    }

    // MARK: Deployment and ReplicaSet

    /// `ValidateDeployment` / `ValidateDeploymentSpec`.
    static func validateDeployment(_ d: Deployment) -> [FieldError] {
        var errs = validateObjectMeta(d.metadata, namespaced: true, name: isDNS1123Subdomain, path: "metadata")
        let spec = d.spec
        errs += nonNegative(spec.replicas, "spec.replicas")
        errs += validateReplicatedTemplate(selector: spec.selector, template: spec.template)
        if let strategy = spec.strategy { errs += validateDeploymentStrategy(strategy, "spec.strategy") }
        errs += nonNegative(spec.minReadySeconds, "spec.minReadySeconds")
        errs += nonNegative(spec.revisionHistoryLimit, "spec.revisionHistoryLimit")
        if let deadline = spec.progressDeadlineSeconds {
            errs += nonNegative(deadline, "spec.progressDeadlineSeconds")
            if deadline <= (spec.minReadySeconds ?? 0) {
                errs.append(.invalid("spec.progressDeadlineSeconds", String(deadline), "must be greater than minReadySeconds"))
            }
        }
        return errs
    }

    /// `ValidateReplicaSet` / `ValidateReplicaSetSpec`.
    static func validateReplicaSet(_ rs: ReplicaSet) -> [FieldError] {
        var errs = validateObjectMeta(rs.metadata, namespaced: true, name: isDNS1123Subdomain, path: "metadata")
        errs += nonNegative(rs.spec.replicas, "spec.replicas")
        errs += nonNegative(rs.spec.minReadySeconds, "spec.minReadySeconds")
        errs += validateReplicatedTemplate(selector: rs.spec.selector, template: rs.spec.template)
        return errs
    }

    /// The selector and `ValidatePodTemplateSpecForReplicaSet` checks Deployments and ReplicaSets share.
    static func validateReplicatedTemplate(selector: LabelSelector, template: PodTemplateSpec) -> [FieldError] {
        var errs = validateLabelSelector(selector, path: "spec.selector")
        let empty = (selector.matchLabels ?? [:]).isEmpty && (selector.matchExpressions ?? []).isEmpty
        // The API server says "deployment" here for ReplicaSets too.
        if empty { errs.append(.invalid("spec.selector", goSelector(selector), "empty selector is invalid for deployment")) }
        let labels = template.metadata?.labels
        if !empty && !selector.matches(labels ?? [:]) {
            errs.append(.invalid("spec.template.metadata.labels", goMap(labels), "`selector` does not match template `labels`"))
        }
        errs += validatePodTemplateSpec(template, path: "spec.template")
        let restart = template.spec.restartPolicy ?? ""
        if restart != "Always" { errs.append(.notSupported("spec.template.spec.restartPolicy", restart, ["Always"])) }
        if template.spec.activeDeadlineSeconds != nil {
            errs.append(.forbidden("spec.template.spec.activeDeadlineSeconds", "activeDeadlineSeconds in ReplicaSet is not Supported"))
        }
        return errs
    }

    /// `ValidateDeploymentStrategy` and `ValidateRollingUpdateDeployment`.
    static func validateDeploymentStrategy(_ strategy: DeploymentStrategy, _ path: String) -> [FieldError] {
        var errs: [FieldError] = []
        switch strategy.type ?? "" {
        case "Recreate":
            if strategy.rollingUpdate != nil {
                errs.append(.forbidden("\(path).rollingUpdate", "may not be specified when strategy `type` is 'Recreate'"))
            }
        case "RollingUpdate":
            guard let rolling = strategy.rollingUpdate else {
                errs.append(.required("\(path).rollingUpdate", "this should be defaulted and never be nil"))
                break
            }
            let p = "\(path).rollingUpdate"
            errs += positiveIntOrPercent(rolling.maxUnavailable, "\(p).maxUnavailable")
            errs += positiveIntOrPercent(rolling.maxSurge, "\(p).maxSurge")
            if intOrPercentValue(rolling.maxUnavailable) == 0 && intOrPercentValue(rolling.maxSurge) == 0 {
                errs.append(.invalid("\(p).maxUnavailable", goIntOrString(rolling.maxUnavailable), "may not be 0 when `maxSurge` is 0"))
            }
            if case .string(let s)? = rolling.maxUnavailable, s.hasSuffix("%"), let v = Int(s.dropLast()), v > 100 {
                errs.append(.invalid("\(p).maxUnavailable", goIntOrString(rolling.maxUnavailable), "must not be greater than 100%"))
            }
        case let other:
            let rolling = strategy.rollingUpdate == nil ? "(*apps.RollingUpdateDeployment)(nil)" : "(*apps.RollingUpdateDeployment)(0xc000000000)"
            errs.append(FieldError(.notSupportedRaw(value: "apps.DeploymentStrategy{Type:\(q(other)), RollingUpdate:\(rolling)}", supported: ["Recreate", "RollingUpdate"]), path))
        }
        return errs
    }

    /// `ValidatePositiveIntOrPercent`.
    static func positiveIntOrPercent(_ v: IntOrString?, _ path: String) -> [FieldError] {
        switch v {
        case .int(let i)?: return i < 0 ? [.invalid(path, String(i), "must be greater than or equal to 0")] : []
        case .string(let s)?:
            let ok = s.hasSuffix("%") && s.count > 1 && s.dropLast().allSatisfy { $0.isASCII && $0.isNumber }
            return ok ? [] : [.invalid(path, goIntOrString(v), regexError("a valid percent string must be a numeric string followed by an ending '%'", "[0-9]+%", "1%", "93%"))]
        case nil: return []
        }
    }

    /// `getIntOrPercentValue`.
    static func intOrPercentValue(_ v: IntOrString?) -> Int {
        switch v {
        case .int(let i)?: return i
        case .string(let s)?: return Int(s.hasSuffix("%") ? String(s.dropLast()) : s) ?? 0
        case nil: return 0
        }
    }
}

import Foundation
