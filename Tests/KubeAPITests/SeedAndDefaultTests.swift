import Foundation
import Testing
@testable import KubeAPI

@Suite struct SeedManifestTests {
    static let seedDirectory = "/work/shared/examples/seeds"
    static let seeds: [String] = [
        "deployment-sidecar-demo.yaml", "git-sync.yaml", "init-and-sidecar.yaml", "job-sidecar-job-demo.yaml",
        "nginx-log-forwarder.yaml", "sidecar-classic-cronjob.yaml", "sidecar-demo.yaml", "sidecar-native-cronjob.yaml",
    ]

    @Test func allSeedsAreListed() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.seedDirectory).filter { $0.hasSuffix(".yaml") }
        #expect(Set(files) == Set(Self.seeds))
    }

    @Test(arguments: seeds)
    func seedDecodesAndValidates(_ file: String) throws {
        let text = try String(contentsOfFile: "\(Self.seedDirectory)/\(file)", encoding: .utf8)
        let objects: [KubeObject]
        do {
            objects = try Manifest.decode(text, source: file)
        } catch {
            Issue.record("\(file): \(error.description)")
            return
        }
        #expect(!objects.isEmpty)
        for object in objects {
            // Decoding already defaulted and validated; doing it again must change nothing.
            var again = object
            Defaults.apply(&again)
            #expect(again == object, "\(file): defaulting is not idempotent for \(object.kind)")
            #expect(Validation.validate(object).isEmpty)
        }
    }
}

@Suite struct DefaultingTests {
    func decodeOne(_ yaml: String) throws -> KubeObject {
        let objects = try Manifest.decode(yaml, source: "test.yaml")
        return try #require(objects.first)
    }

    @Test func podAndProbeDefaults() throws {
        let object = try decodeOne(containerYAML("""
            ports:
            - containerPort: 80
              name: http
            readinessProbe:
              httpGet:
                port: http
            livenessProbe:
              exec:
                command: ["true"]
            resources:
              limits:
                memory: 64Mi
            env:
            - name: NAME
              valueFrom:
                fieldRef:
                  fieldPath: metadata.name
        """))
        guard case .pod(let pod) = object else { Issue.record("not a pod"); return }
        #expect(pod.metadata.namespace == "default")
        let spec = pod.spec
        #expect(spec.restartPolicy == "Always")
        #expect(spec.terminationGracePeriodSeconds == 30)
        #expect(spec.dnsPolicy == "ClusterFirst")
        #expect(spec.schedulerName == "default-scheduler")
        #expect(spec.securityContext == PodSecurityContext())
        #expect(spec.enableServiceLinks == true)
        #expect(spec.priority == 0)
        #expect(spec.preemptionPolicy == "PreemptLowerPriority")
        #expect(spec.serviceAccountName == "default")
        #expect(spec.serviceAccount == "default")
        let c = spec.containers[0]
        #expect(c.terminationMessagePath == "/dev/termination-log")
        #expect(c.terminationMessagePolicy == "File")
        #expect(c.imagePullPolicy == "Always")
        #expect(c.ports?[0].protocol == "TCP")
        #expect(c.resources?.requests?["memory"] == Quantity("64Mi"))
        #expect(c.env?[0].valueFrom?.fieldRef?.apiVersion == "v1")
        let probe = try #require(c.readinessProbe)
        #expect(probe.timeoutSeconds == 1)
        #expect(probe.periodSeconds == 10)
        #expect(probe.successThreshold == 1)
        #expect(probe.failureThreshold == 3)
        #expect(probe.initialDelaySeconds == nil)
        #expect(probe.httpGet?.scheme == "HTTP")
        #expect(probe.httpGet?.path == "/")
        #expect(c.livenessProbe?.failureThreshold == 3)
        // The JSON shape kubectl shows.
        let json = try object.jsonValue()
        #expect(json["spec"]?["containers"].flatMap { if case .array(let a) = $0 { a.first } else { nil } }?["resources"]?["requests"]?["memory"] == .string("64Mi"))
    }

    @Test func imagePullPolicyFollowsTheTag() {
        #expect(Defaults.imageTag("busybox") == "latest")
        #expect(Defaults.imageTag("busybox:latest") == "latest")
        #expect(Defaults.imageTag("busybox:1.36") == "1.36")
        #expect(Defaults.imageTag("localhost:5000/busybox") == "latest")
        #expect(Defaults.imageTag("busybox@sha256:abc") == "")
    }

    @Test func volumeDefaults() throws {
        let object = try decodeOne(containerYAML("", podExtra: """
          volumes:
          - name: cfg
            configMap:
              name: c
          - name: host
            hostPath:
              path: /tmp
          - name: bare
        """))
        guard case .pod(let pod) = object else { Issue.record("not a pod"); return }
        let volumes = try #require(pod.spec.volumes)
        #expect(volumes[0].configMap?.defaultMode == 420)
        #expect(volumes[1].hostPath?.type == "")
        // SetDefaults_Volume: a volume with no source is an emptyDir.
        #expect(volumes[2].emptyDir != nil)
    }

    @Test func jobDefaults() throws {
        let object = try decodeOne("""
            apiVersion: batch/v1
            kind: Job
            metadata: {name: j}
            spec:
              template:
                metadata: {labels: {app: j}}
                spec:
                  restartPolicy: Never
                  containers: [{name: app, image: "busybox:1.36"}]
            """)
        guard case .job(let job) = object else { Issue.record("not a job"); return }
        #expect(job.spec.completions == 1)
        #expect(job.spec.parallelism == 1)
        #expect(job.spec.backoffLimit == 6)
        #expect(job.spec.completionMode == "NonIndexed")
        #expect(job.spec.suspend == false)
        #expect(job.spec.manualSelector == nil)
        #expect(job.spec.podReplacementPolicy == "TerminatingOrFailed")
        #expect(job.spec.template.spec.restartPolicy == "Never")
        #expect(job.spec.template.spec.containers[0].imagePullPolicy == "IfNotPresent")
        #expect(job.metadata.labels == ["app": "j"])
        // Pod-only defaults stay off templates.
        #expect(job.spec.template.spec.enableServiceLinks == nil)
    }

    @Test func parallelJobKeepsCompletionsUnset() throws {
        let object = try decodeOne("""
            apiVersion: batch/v1
            kind: Job
            metadata: {name: j}
            spec:
              parallelism: 3
              template:
                spec:
                  restartPolicy: OnFailure
                  containers: [{name: app, image: busybox}]
            """)
        guard case .job(let job) = object else { Issue.record("not a job"); return }
        #expect(job.spec.completions == nil)
        #expect(job.spec.parallelism == 3)
    }

    @Test func deploymentDefaults() throws {
        let object = try decodeOne("""
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: d}
            spec:
              selector: {matchLabels: {app: d}}
              strategy:
                rollingUpdate: {maxSurge: 1}
              template:
                metadata: {labels: {app: d}}
                spec:
                  containers: [{name: app, image: nginx}]
            """)
        guard case .deployment(let d) = object else { Issue.record("not a deployment"); return }
        #expect(d.spec.replicas == 1)
        #expect(d.spec.strategy?.type == "RollingUpdate")
        #expect(d.spec.strategy?.rollingUpdate?.maxSurge == .int(1))
        #expect(d.spec.strategy?.rollingUpdate?.maxUnavailable == .string("25%"))
        #expect(d.spec.revisionHistoryLimit == 10)
        #expect(d.spec.progressDeadlineSeconds == 600)
        #expect(d.spec.minReadySeconds == nil)
        #expect(d.spec.template.spec.restartPolicy == "Always")
    }

    @Test func cronJobServiceAndSecretDefaults() throws {
        let objects = try Manifest.decode(cronJobYAML(schedule: "*/5 * * * *") + """

            ---
            apiVersion: v1
            kind: Service
            metadata: {name: web}
            spec:
              ports: [{port: 80}]
            ---
            apiVersion: v1
            kind: Secret
            metadata: {name: s}
            data: {k: aGVsbG8=}
            """, source: "test.yaml")
        #expect(objects.count == 3)
        guard case .cronJob(let c) = objects[0], case .service(let s) = objects[1], case .secret(let secret) = objects[2] else {
            Issue.record("unexpected kinds")
            return
        }
        #expect(c.spec.concurrencyPolicy == "Allow")
        #expect(c.spec.suspend == false)
        #expect(c.spec.successfulJobsHistoryLimit == 3)
        #expect(c.spec.failedJobsHistoryLimit == 1)
        #expect(s.spec?.type == "ClusterIP")
        #expect(s.spec?.sessionAffinity == "None")
        #expect(s.spec?.ports?[0].protocol == "TCP")
        #expect(s.spec?.ports?[0].targetPort == .int(80))
        #expect(secret.type == "Opaque")
    }
}

@Suite struct RoundTripTests {
    @Test func unknownNestedFieldsOfOpaqueValuesSurvive() throws {
        let objects = try Manifest.decode(containerYAML("", podExtra: """
          affinity:
            nodeAffinity:
              requiredDuringSchedulingIgnoredDuringExecution:
                nodeSelectorTerms:
                - matchExpressions:
                  - key: kubernetes.io/os
                    operator: In
                    values: [linux]
          tolerations:
          - key: example.com/special
            operator: Exists
            effect: NoSchedule
        """), source: "test.yaml")
        guard case .pod(let pod) = try #require(objects.first) else { Issue.record("not a pod"); return }
        let terms = pod.spec.affinity?["nodeAffinity"]?["requiredDuringSchedulingIgnoredDuringExecution"]?["nodeSelectorTerms"]
        guard case .array(let list)? = terms, case .array(let exprs)? = list.first?["matchExpressions"] else {
            Issue.record("affinity lost: \(String(describing: pod.spec.affinity))")
            return
        }
        #expect(exprs.first?["key"] == .string("kubernetes.io/os"))
        #expect(exprs.first?["values"] == .array([.string("linux")]))
        #expect(pod.spec.tolerations?.first?["effect"] == .string("NoSchedule"))
        let json = try KubeObject.pod(pod).jsonValue()
        #expect(json["spec"]?["affinity"] == pod.spec.affinity)
    }

    @Test func validCronSchedules() {
        for schedule in ["*/5 * * * *", "0 0 * * MON-FRI", "0 12 1 JAN,jul *", "5/15 0-23/2 ? * sun", "@hourly", "@every 1h30m", "0 0 31 12 6"] {
            #expect(CronSchedule.parseError(schedule) == nil, "\(schedule)")
        }
        #expect(CronSchedule.parseError("0 0 * * 7") == "end of range (7) above maximum (6): 7")
        #expect(CronSchedule.parseError("5-1 * * * *") == "beginning of range (5) beyond end of range (1): 5-1")
        #expect(CronSchedule.parseError("@every 5x") == "failed to parse duration @every 5x: time: unknown unit \"x\" in duration \"5x\"")
    }

    @Test func base64Offsets() {
        #expect(Validation.base64ErrorOffset("aGVsbG8=") == nil)
        #expect(Validation.base64ErrorOffset("aGVsbG8") == 4)
        #expect(Validation.base64ErrorOffset("hello!") == 5)
        #expect(Validation.base64ErrorOffset("aGVs\nbG8=") == nil)
    }

    @Test func quantities() {
        // `.`, `-` and `Gi` are zero to apimachinery: every part of the number may be empty.
        for good in ["1", "100m", "1.5", "128Mi", "1e3", "2E-2", "+1k", "0.5Gi", ".", "-", "Gi", "1."] {
            #expect(Validation.quantityProblem(good) == nil, "\(good)")
        }
        for bad in ["128Mb", "1.2.3", "1.5.5Gi", "true", "{}", ""] { #expect(Validation.quantityProblem(bad) == Validation.quantityFormatMessage, "\(bad)") }
        #expect(Validation.quantityProblem("1iM") == "unable to parse quantity's suffix")
        #expect(Validation.quantityProblem("1e") == "unable to parse quantity's suffix")
    }

    @Test func parserErrorLineMatchesGoYAML() {
        // go-yaml reports parser errors one line early (0-based mark, not incremented).
        let message = manifestError("apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n labels: {}\n")
        #expect(message?.contains("error converting YAML to JSON: yaml: line") == true, "\(message ?? "nil")")
    }
}


@Suite struct ValidationOfObjectsBuiltInCode {
    @Test func undefaultedPodReportsWhatDefaultingWouldFill() {
        var container = Container(name: "app")
        container.resources = ResourceRequirements(limits: ["memory": Quantity("1Mb")])
        let pod = Pod(metadata: ObjectMeta(name: "p"), spec: PodSpec(containers: [container], volumes: [Volume(name: "v")]))
        let messages = Validation.validate(.pod(pod)).map(\.description)
        #expect(messages.contains("spec.volumes[0]: Required value: must specify a volume type"))
        #expect(messages.contains("spec.restartPolicy: Required value"))
        #expect(messages.contains { $0.hasPrefix("spec.containers[0].resources.limits[memory]: Invalid value: \"1Mb\": quantities must match") })
        var defaulted = KubeObject.pod(pod)
        Defaults.apply(&defaulted)
        #expect(Validation.validate(defaulted).map(\.description) == ["spec.containers[0].resources.limits[memory]: Invalid value: \"1Mb\": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
                                                                      "spec.containers[0].resources.requests[memory]: Invalid value: \"1Mb\": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"])
    }
}
