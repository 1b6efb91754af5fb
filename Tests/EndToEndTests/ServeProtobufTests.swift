import Foundation
import Testing

/// kubectl's typed `create` commands send protobuf bodies, with no switch to turn it off: each
/// kind they create is decoded (`Protobuf`, `ProtoSchemas`) into what a JSON body would have said.
@Suite(.serialized) struct ServeProtobufTests {
    @Test func kubectlCreateWorksForDeploymentsJobsCronJobsAndServices() throws {
        let serve = try ServeRun()
        defer { serve.cleanup() }
        #expect(serve.ready(), "serve did not start: \(serve.stderr)")

        let deployment = try serve.kubectl(["create", "deployment", "web", "--image=busybox", "--replicas=2", "--port=8080",
                                            "--", "sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"])
        #expect(deployment.stdout == "deployment.apps/web created\n", "\(deployment.stdout) \(deployment.stderr)")
        let d = try serve.kubectl(["get", "deployment", "web", "-o",
                                   "jsonpath={.spec.replicas} {.spec.selector.matchLabels.app} {.spec.template.spec.containers[0].image} {.spec.template.spec.containers[0].command} {.spec.template.spec.containers[0].ports[0].containerPort} {.spec.strategy.type}"])
        #expect(d.stdout == #"2 web busybox ["sh","-c","trap 'exit 0' TERM; while true; do sleep 0.2; done"] 8080 RollingUpdate"#, "\(d.stdout) \(d.stderr)")
        let rollout = try serve.kubectl(["rollout", "status", "deployment/web", "--timeout=60s"])
        #expect(rollout.status == 0, "\(rollout.stdout) \(rollout.stderr)")

        // A pointer field set to zero stays zero (not defaulted to 1).
        let zero = try serve.kubectl(["create", "deployment", "idle", "--image=busybox", "--replicas=0"])
        #expect(zero.stdout == "deployment.apps/idle created\n", "\(zero.stdout) \(zero.stderr)")
        #expect(try serve.kubectl(["get", "deployment", "idle", "-o", "jsonpath={.spec.replicas}"]).stdout == "0")

        let job = try serve.kubectl(["create", "job", "once", "--image=busybox", "--", "sh", "-c", "echo hello from protobuf"])
        #expect(job.stdout == "job.batch/once created\n", "\(job.stdout) \(job.stderr)")
        let complete = try serve.kubectl(["wait", "--for=condition=complete", "job/once", "--timeout=60s"])
        #expect(complete.status == 0, "\(complete.stdout) \(complete.stderr)")
        #expect(try serve.kubectl(["logs", "job/once"]).stdout == "hello from protobuf\n")

        let cron = try serve.kubectl(["create", "cronjob", "tick", "--image=busybox", "--schedule=*/5 * * * *", "--", "echo", "tick"])
        #expect(cron.stdout == "cronjob.batch/tick created\n", "\(cron.stdout) \(cron.stderr)")
        let c = try serve.kubectl(["get", "cronjob", "tick", "-o",
                                   "jsonpath={.spec.schedule} {.spec.jobTemplate.spec.template.spec.containers[0].command} {.spec.jobTemplate.spec.template.spec.restartPolicy}"])
        #expect(c.stdout == #"*/5 * * * * ["echo","tick"] OnFailure"#, "\(c.stdout) \(c.stderr)")

        let svc = try serve.kubectl(["create", "service", "clusterip", "web", "--tcp=80:8080"])
        #expect(svc.stdout == "service/web created\n", "\(svc.stdout) \(svc.stderr)")
        let s = try serve.kubectl(["get", "service", "web", "-o", "jsonpath={.spec.type} {.spec.ports[0].port} {.spec.ports[0].targetPort} {.spec.selector.app}"])
        #expect(s.stdout == "ClusterIP 80 8080 web", "\(s.stdout) \(s.stderr)")

        // Admission is the JSON path's: a bad name is the API server's Invalid, not a decoding error.
        let bad = try serve.kubectl(["create", "deployment", "Bad_Name", "--image=busybox"])
        #expect(bad.status == 1)
        #expect(bad.stderr.hasPrefix("error: failed to create deployment: Deployment.apps \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\""),
                "\(bad.stderr)")
        #expect(serve.stop() == 0)
    }
}
