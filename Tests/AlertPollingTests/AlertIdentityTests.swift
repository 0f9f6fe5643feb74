import ErrnoConfig
import Testing

@testable import AlertPolling

/// Which polled alerts are this node's.
@Suite struct AlertIdentityTests {
    @Test func instancesComeFromTheBoundAddressesAndTheHostName() {
        let loopback = AlertIdentity.derivedInstances(boundAddresses: ["127.0.0.1:9717"], hostname: "node-7", interfaceAddresses: ["10.0.0.7"])
        #expect(loopback == ["node-7", "node-7:9717", "127.0.0.1:9717", "localhost:9717"])
        let wildcard = AlertIdentity.derivedInstances(boundAddresses: ["0.0.0.0:9717"], hostname: "node-7", interfaceAddresses: ["10.0.0.7", "fd00::7"])
        #expect(wildcard == ["node-7", "node-7:9717", "10.0.0.7:9717", "[fd00::7]:9717", "localhost:9717"])
        let v6 = AlertIdentity.derivedInstances(boundAddresses: ["::1:9100"], hostname: "", interfaceAddresses: [])
        #expect(v6 == ["[::1]:9100", "localhost:9100"])
    }

    @Test func anAlertIsThisNodesByInstanceOrFleetWide() throws {
        let identity = AlertIdentity(instances: ["node-7:9717"], fleetWide: true, matchers: [try AlertMatcher(parsing: #"cluster="eu""#)])
        #expect(identity.isForThisNode(["instance": "node-7:9717", "cluster": "eu"]))
        #expect(!identity.isForThisNode(["instance": "node-8:9717", "cluster": "eu"]))
        #expect(identity.isForThisNode(["cluster": "eu"]), "no instance: fleet-wide")
        #expect(!identity.isForThisNode(["instance": "node-7:9717", "cluster": "us"]), "every matcher must hold")
        let local = AlertIdentity(instances: ["node-7:9717"], fleetWide: false, matchers: [])
        #expect(!local.isForThisNode(["alertname": "A"]))
        #expect(!local.isForThisNode(["instance": ""]))
    }

    @Test func theConfigsInstancesReplaceTheDerivedOnes() {
        var alerts = Config.Alerts()
        alerts.instances = ["web-1"]
        let identity = AlertIdentity(alerts, boundAddresses: ["127.0.0.1:9717"])
        #expect(identity.instances == ["web-1"])
        #expect(AlertIdentity(Config.Alerts(), boundAddresses: ["127.0.0.1:9717"]).instances.contains("127.0.0.1:9717"))
    }
}
