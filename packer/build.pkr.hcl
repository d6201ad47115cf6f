# One build for every source: upload the shared provisioning and the agent package, run the
# same scripts the offline build runs, make the result generic.

build {
  sources = ["source.amazon-ebs.ryo", "source.googlecompute.ryo", "source.lxd.ryo", "source.qemu.ryo"]

  # Require IMDSv2 on the build instance before anything runs on it.
  provisioner "shell-local" {
    only = ["amazon-ebs.ryo"]
    inline = [
      "aws ec2 modify-instance-metadata-options --region ${var.region} --instance-id ${build.ID} --http-tokens required --http-endpoint enabled --http-put-response-hop-limit 1",
    ]
  }

  provisioner "shell" {
    inline = ["mkdir -p /tmp/ryo-build"]
  }

  provisioner "file" {
    source      = "../image"
    destination = "/tmp/ryo-build"
  }

  provisioner "file" {
    source      = var.agent_deb
    destination = "/tmp/ryo-build/meet-agent.deb"
  }

  provisioner "shell" {
    # Official AMIs log in as a sudo user; LXD and the qemu base run as root already.
    execute_command = "chmod +x {{ .Path }}; if [ \"$(id -u)\" = 0 ]; then {{ .Vars }} {{ .Path }}; else sudo -E env {{ .Vars }} {{ .Path }}; fi"
    environment_vars = [
      "RYO_OS_ENV=/tmp/ryo-build/image/os/${var.os}.env",
      "RYO_AGENT_DEB=/tmp/ryo-build/meet-agent.deb",
      "RYO_FILES=/tmp/ryo-build/image",
      "RYO_JITSI_REPO=${var.jitsi_repository}",
      "RYO_JITSI_VERSION=${var.jitsi_version}",
      "RYO_APT_UPDATE=${var.apt_update}",
      "RYO_ROLE=${var.role}",
    ]
    inline = [
      "bash /tmp/ryo-build/image/provision/provision.sh",
      # generalize.sh empties /tmp, so the check runs from /run (a tmpfs, not in the image).
      "install -m 0755 /tmp/ryo-build/image/provision/check-generic.sh /run/ryo-check-generic.sh",
      "bash /tmp/ryo-build/image/provision/generalize.sh",
      "bash /run/ryo-check-generic.sh /",
      "rm -f /run/ryo-check-generic.sh",
    ]
  }

  # The AMI requires IMDSv2 too: instances launched from it get tokens-only metadata.
  post-processors {
    post-processor "manifest" {
      only       = ["amazon-ebs.ryo"]
      output     = "../build/packer-manifest.json"
      strip_path = true
    }
    post-processor "shell-local" {
      only = ["amazon-ebs.ryo"]
      inline = [
        "ami=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(m[\"builds\"][-1][\"artifact_id\"].split(\":\")[1])' ../build/packer-manifest.json)",
        "aws ec2 modify-image-attribute --region ${var.region} --image-id \"$ami\" --imds-support v2.0",
      ]
    }
  }
}
