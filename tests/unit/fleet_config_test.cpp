// [Fleet] in kexecd.conf.
#include "config_fixture.hpp"

namespace kexecd {
namespace {

TEST_F(ConfigTest, FleetDefaultsToNoCoordinator) {
    Config c = load();
    EXPECT_FALSE(c.fleet.enabled());
    EXPECT_EQ(c.fleet.group, "default");
    EXPECT_EQ(c.fleet.slots, 1u);
    EXPECT_FALSE(c.fleet.releaseWhenDegraded);
}

TEST_F(ConfigTest, FleetEveryKey) {
    write("kexecd.conf",
          "[Fleet]\n"
          "Coordinator=etcd\n"
          "Endpoints=https://10.0.0.1:2379, https://10.0.0.2:2379\n"
          "Endpoints=https://10.0.0.3:2379\n"
          "Group=workers.eu-1\n"
          "Slots=2\n"
          "NodeId=node-7\n"
          "TrustedCA=/etc/kexecd/ca.pem\n"
          "ClientCertificate=/etc/kexecd/node.pem\n"
          "ClientKey=/etc/kexecd/node.key\n"
          "ReleaseWhenDegraded=yes\n");
    Config c = load();
    EXPECT_EQ(c.fleet.coordinator, CoordinatorKind::Etcd);
    EXPECT_THAT(c.fleet.endpoints, ElementsAre("https://10.0.0.1:2379", "https://10.0.0.2:2379",
                                               "https://10.0.0.3:2379"));
    EXPECT_EQ(c.fleet.group, "workers.eu-1");
    EXPECT_EQ(c.fleet.slots, 2u);
    EXPECT_EQ(c.fleet.nodeId, "node-7");
    EXPECT_EQ(c.fleet.trustedCA, "/etc/kexecd/ca.pem");
    EXPECT_EQ(c.fleet.clientCertificate, "/etc/kexecd/node.pem");
    EXPECT_EQ(c.fleet.clientKey, "/etc/kexecd/node.key");
    EXPECT_TRUE(c.fleet.releaseWhenDegraded);
    EXPECT_THAT(warnings_, IsEmpty());
}

TEST_F(ConfigTest, FleetBadValuesStopWithFileAndLine) {
    for (auto bad :
         {"Coordinator=zookeeper", "Group=a/b", "Group=", "Slots=0", "Slots=x", "Endpoints=ftp://x",
          "NodeId=a b", "TrustedCA=relative.pem", "ReleaseWhenDegraded=maybe"}) {
        write("kexecd.conf", std::string("[Fleet]\n") + bad + "\n");
        try {
            load();
            ADD_FAILURE() << bad;
        } catch (const Error& e) {
            EXPECT_THAT(e.what(), HasSubstr("kexecd.conf:2: ")) << bad;
        }
    }
}

}  // namespace
}  // namespace kexecd
