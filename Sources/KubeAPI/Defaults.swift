/// API server defaulting, so that what Tandem stores and prints (`-o json`) is what
/// `kubectl get -o json` shows for the same manifest.
///
/// Mirrors the generated defaulters of `pkg/apis/core/v1/defaults.go`, `pkg/apis/batch/v1/defaults.go`
/// and `pkg/apis/apps/v1/defaults.go`. Two Kubernetes subtleties are kept on purpose:
/// - `SetDefaults_Pod` (resource requests from limits, `enableServiceLinks`) and the admission
///   plugins (`priority`, `serviceAccountName`) touch Pods only, never pod *templates*: a Deployment's
///   template is shown without them, the Pods it creates get them.
/// - `SetDefaults_PodSpec` runs for every nested PodSpec, so a Job template without `restartPolicy`
///   becomes `Always` and is then refused by Job validation — the API server's famous
///   `spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"`.
public enum Defaults {
    public static func apply(_ object: inout KubeObject) {
        switch object {
        case .pod(var pod):
            defaultNamespace(&pod.metadata)
            defaultPod(&pod)
            object = .pod(pod)
        case .job(var job):
            defaultNamespace(&job.metadata)
            defaultJob(&job)
            object = .job(job)
        case .cronJob(var cronJob):
            defaultNamespace(&cronJob.metadata)
            defaultCronJob(&cronJob.spec)
            object = .cronJob(cronJob)
        case .deployment(var deployment):
            defaultNamespace(&deployment.metadata)
            defaultDeployment(&deployment.spec)
            object = .deployment(deployment)
        case .replicaSet(var replicaSet):
            defaultNamespace(&replicaSet.metadata)
            if replicaSet.spec.replicas == nil { replicaSet.spec.replicas = 1 }
            if replicaSet.metadata.labels?.isEmpty ?? true, let labels = replicaSet.spec.template.metadata?.labels {
                replicaSet.metadata.labels = labels
            }
            defaultPodSpec(&replicaSet.spec.template.spec)
            object = .replicaSet(replicaSet)
        case .configMap(var configMap):
            defaultNamespace(&configMap.metadata)
            object = .configMap(configMap)
        case .secret(var secret):
            defaultNamespace(&secret.metadata)
            // SetDefaults_Secret.
            if secret.type == nil || secret.type == "" { secret.type = "Opaque" }
            object = .secret(secret)
        case .service(var service):
            defaultNamespace(&service.metadata)
            var spec = service.spec ?? ServiceSpec()
            defaultService(&spec)
            service.spec = spec
            object = .service(service)
        case .namespace:
            break
        }
    }

    /// The namespace a request lands in when the manifest names none (kubectl's `default` context).
    static func defaultNamespace(_ meta: inout ObjectMeta) {
        if meta.namespace == nil || meta.namespace == "" { meta.namespace = "default" }
    }

    // MARK: Pods

    /// `SetDefaults_Pod` plus what the Priority and ServiceAccount admission plugins add to a Pod.
    static func defaultPod(_ pod: inout Pod) {
        defaultPodSpec(&pod.spec)
        // SetDefaults_Pod: a limit without a request requests the limit (the pod is then Guaranteed).
        func requestsFromLimits(_ containers: inout [Container]) {
            for i in containers.indices {
                guard let limits = containers[i].resources?.limits, !limits.isEmpty else { continue }
                var requests = containers[i].resources?.requests ?? [:]
                for (name, value) in limits where requests[name] == nil { requests[name] = value }
                containers[i].resources?.requests = requests
            }
        }
        requestsFromLimits(&pod.spec.containers)
        if pod.spec.initContainers != nil { requestsFromLimits(&pod.spec.initContainers!) }
        if pod.spec.enableServiceLinks == nil { pod.spec.enableServiceLinks = true }
        // Priority admission: no priorityClassName means the global default, priority 0.
        if pod.spec.priority == nil { pod.spec.priority = 0 }
        if pod.spec.preemptionPolicy == nil { pod.spec.preemptionPolicy = "PreemptLowerPriority" }
        // ServiceAccount admission: the namespace's `default` account, mirrored in the deprecated field.
        if pod.spec.serviceAccountName == nil || pod.spec.serviceAccountName == "" {
            pod.spec.serviceAccountName = pod.spec.serviceAccount.flatMap { $0.isEmpty ? nil : $0 } ?? "default"
        }
        if pod.spec.serviceAccount == nil || pod.spec.serviceAccount == "" { pod.spec.serviceAccount = pod.spec.serviceAccountName }
    }

    /// `SetDefaults_PodSpec` and the defaulters of every type a PodSpec contains.
    static func defaultPodSpec(_ spec: inout PodSpec) {
        if spec.restartPolicy == nil || spec.restartPolicy == "" { spec.restartPolicy = "Always" }
        if spec.terminationGracePeriodSeconds == nil { spec.terminationGracePeriodSeconds = 30 }
        if spec.dnsPolicy == nil || spec.dnsPolicy == "" { spec.dnsPolicy = "ClusterFirst" }
        if spec.schedulerName == nil || spec.schedulerName == "" { spec.schedulerName = "default-scheduler" }
        if spec.securityContext == nil { spec.securityContext = PodSecurityContext() }
        for i in spec.containers.indices { defaultContainer(&spec.containers[i]) }
        if spec.initContainers != nil {
            for i in spec.initContainers!.indices { defaultContainer(&spec.initContainers![i]) }
        }
        if spec.ephemeralContainers != nil {
            for i in spec.ephemeralContainers!.indices { defaultContainer(&spec.ephemeralContainers![i].container) }
        }
        if spec.volumes != nil {
            for i in spec.volumes!.indices { defaultVolume(&spec.volumes![i]) }
        }
    }

    /// `SetDefaults_Container` and friends.
    static func defaultContainer(_ c: inout Container) {
        if c.terminationMessagePath == nil || c.terminationMessagePath == "" { c.terminationMessagePath = "/dev/termination-log" }
        if c.terminationMessagePolicy == nil || c.terminationMessagePolicy == "" { c.terminationMessagePolicy = "File" }
        if c.imagePullPolicy == nil || c.imagePullPolicy == "" {
            c.imagePullPolicy = imageTag(c.image ?? "") == "latest" ? "Always" : "IfNotPresent"
        }
        // The API server always serialises `resources: {}` for a container.
        if c.resources == nil { c.resources = ResourceRequirements() }
        if c.ports != nil {
            for i in c.ports!.indices where c.ports![i].protocol == nil || c.ports![i].protocol == "" { c.ports![i].protocol = "TCP" }
        }
        if c.env != nil {
            for i in c.env!.indices where c.env![i].valueFrom?.fieldRef != nil {
                if c.env![i].valueFrom!.fieldRef!.apiVersion == nil || c.env![i].valueFrom!.fieldRef!.apiVersion == "" {
                    c.env![i].valueFrom!.fieldRef!.apiVersion = "v1"
                }
            }
        }
        defaultProbe(&c.livenessProbe)
        defaultProbe(&c.readinessProbe)
        defaultProbe(&c.startupProbe)
        if c.lifecycle != nil {
            if c.lifecycle!.postStart != nil { defaultHTTPGet(&c.lifecycle!.postStart!.httpGet) }
            if c.lifecycle!.preStop != nil { defaultHTTPGet(&c.lifecycle!.preStop!.httpGet) }
        }
    }

    /// The tag `parsers.ParseImageName` finds: `latest` when the reference has neither tag nor
    /// digest, empty when it has only a digest (so a digest-pinned image is `IfNotPresent`).
    static func imageTag(_ image: String) -> String {
        var name = Substring(image)
        if let at = name.firstIndex(of: "@") {
            name = name[..<at]
            let last = name.split(separator: "/", omittingEmptySubsequences: false).last ?? ""
            if let colon = last.lastIndex(of: ":") { return String(last[last.index(after: colon)...]) }
            return ""
        }
        let last = name.split(separator: "/", omittingEmptySubsequences: false).last ?? ""
        if let colon = last.lastIndex(of: ":") { return String(last[last.index(after: colon)...]) }
        return "latest"
    }

    /// `SetDefaults_Probe`: zero (unset) thresholds and timings take the documented defaults;
    /// `initialDelaySeconds` stays unset, as the API server leaves it 0 and omits it.
    static func defaultProbe(_ probe: inout Probe?) {
        guard probe != nil else { return }
        if (probe!.timeoutSeconds ?? 0) == 0 { probe!.timeoutSeconds = 1 }
        if (probe!.periodSeconds ?? 0) == 0 { probe!.periodSeconds = 10 }
        if (probe!.successThreshold ?? 0) == 0 { probe!.successThreshold = 1 }
        if (probe!.failureThreshold ?? 0) == 0 { probe!.failureThreshold = 3 }
        defaultHTTPGet(&probe!.httpGet)
    }

    /// `SetDefaults_HTTPGetAction`.
    static func defaultHTTPGet(_ action: inout HTTPGetAction?) {
        guard action != nil else { return }
        if action!.path == nil || action!.path == "" { action!.path = "/" }
        if action!.scheme == nil || action!.scheme == "" { action!.scheme = "HTTP" }
    }

    /// `SetDefaults_Volume` (no source at all means an emptyDir) and the per-source defaulters
    /// (`defaultMode` 0644, hostPath `type: ""`).
    static func defaultVolume(_ v: inout Volume) {
        if v.sourceCount == 0 { v.emptyDir = EmptyDirVolumeSource() }
        if v.hostPath != nil, v.hostPath!.type == nil { v.hostPath!.type = "" }
        if v.configMap != nil, v.configMap!.defaultMode == nil { v.configMap!.defaultMode = 0o644 }
        if v.secret != nil, v.secret!.defaultMode == nil { v.secret!.defaultMode = 0o644 }
        if v.downwardAPI != nil {
            if v.downwardAPI!.defaultMode == nil { v.downwardAPI!.defaultMode = 0o644 }
            defaultFieldRefs(&v.downwardAPI!.items)
        }
        if v.projected != nil {
            if v.projected!.defaultMode == nil { v.projected!.defaultMode = 0o644 }
            if v.projected!.sources != nil {
                for i in v.projected!.sources!.indices where v.projected!.sources![i].downwardAPI != nil {
                    defaultFieldRefs(&v.projected!.sources![i].downwardAPI!.items)
                }
            }
        }
    }

    /// `SetDefaults_ObjectFieldSelector`: `apiVersion: v1`.
    static func defaultFieldRefs(_ items: inout [DownwardAPIVolumeFile]?) {
        guard items != nil else { return }
        for i in items!.indices where items![i].fieldRef != nil && (items![i].fieldRef!.apiVersion ?? "").isEmpty {
            items![i].fieldRef!.apiVersion = "v1"
        }
    }

    // MARK: Workloads

    /// batch/v1 `SetDefaults_Job`.
    static func defaultJob(_ job: inout Job) {
        var spec = job.spec
        // A non-parallel job may leave both unset: both become 1. Otherwise only parallelism defaults.
        if spec.completions == nil && spec.parallelism == nil {
            spec.completions = 1
            spec.parallelism = 1
        }
        if spec.parallelism == nil { spec.parallelism = 1 }
        if spec.backoffLimit == nil { spec.backoffLimit = spec.backoffLimitPerIndex != nil ? Int32.max : 6 }
        if spec.completionMode == nil || spec.completionMode == "" { spec.completionMode = "NonIndexed" }
        if spec.suspend == nil { spec.suspend = false }
        if spec.podReplacementPolicy == nil || spec.podReplacementPolicy == "" {
            spec.podReplacementPolicy = spec.podFailurePolicy != nil ? "Failed" : "TerminatingOrFailed"
        }
        if job.metadata.labels?.isEmpty ?? true, let labels = spec.template.metadata?.labels {
            job.metadata.labels = labels
        }
        defaultPodSpec(&spec.template.spec)
        job.spec = spec
    }

    /// batch/v1 `SetDefaults_CronJob`. The job template's JobSpec is not defaulted (that happens to
    /// each Job the controller creates); its pod template is.
    static func defaultCronJob(_ spec: inout CronJobSpec) {
        if spec.concurrencyPolicy == nil || spec.concurrencyPolicy == "" { spec.concurrencyPolicy = "Allow" }
        if spec.suspend == nil { spec.suspend = false }
        if spec.successfulJobsHistoryLimit == nil { spec.successfulJobsHistoryLimit = 3 }
        if spec.failedJobsHistoryLimit == nil { spec.failedJobsHistoryLimit = 1 }
        defaultPodSpec(&spec.jobTemplate.spec.template.spec)
    }

    /// apps/v1 `SetDefaults_Deployment`.
    static func defaultDeployment(_ spec: inout DeploymentSpec) {
        if spec.replicas == nil { spec.replicas = 1 }
        var strategy = spec.strategy ?? DeploymentStrategy()
        if strategy.type == nil || strategy.type == "" { strategy.type = "RollingUpdate" }
        if strategy.type == "RollingUpdate" {
            var rolling = strategy.rollingUpdate ?? RollingUpdateDeployment()
            if rolling.maxUnavailable == nil { rolling.maxUnavailable = .string("25%") }
            if rolling.maxSurge == nil { rolling.maxSurge = .string("25%") }
            strategy.rollingUpdate = rolling
        }
        spec.strategy = strategy
        if spec.revisionHistoryLimit == nil { spec.revisionHistoryLimit = 10 }
        if spec.progressDeadlineSeconds == nil { spec.progressDeadlineSeconds = 600 }
        defaultPodSpec(&spec.template.spec)
    }

    /// core/v1 `SetDefaults_Service`.
    static func defaultService(_ spec: inout ServiceSpec) {
        if spec.type == nil || spec.type == "" { spec.type = "ClusterIP" }
        if spec.sessionAffinity == nil || spec.sessionAffinity == "" { spec.sessionAffinity = "None" }
        if spec.type != "ExternalName", spec.internalTrafficPolicy == nil { spec.internalTrafficPolicy = "Cluster" }
        if spec.type == "NodePort" || spec.type == "LoadBalancer", spec.externalTrafficPolicy == nil { spec.externalTrafficPolicy = "Cluster" }
        if spec.ports != nil {
            for i in spec.ports!.indices {
                if spec.ports![i].protocol == nil || spec.ports![i].protocol == "" { spec.ports![i].protocol = "TCP" }
                switch spec.ports![i].targetPort {
                case nil, .int(0)?, .string("")?: spec.ports![i].targetPort = .int(Int(spec.ports![i].port))
                default: break
                }
            }
        }
    }
}
