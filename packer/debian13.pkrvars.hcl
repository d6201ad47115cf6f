os                 = "debian13"
source_ami_name    = "debian-13-amd64-*"
source_ami_owner   = "136693071363" # Debian
root_device_name   = "/dev/xvda"
ssh_username       = "admin"
lxd_source_image   = "images:debian/13/cloud"
qemu_base_image    = "https://cloud.debian.org/images/cloud/trixie/latest/debian-13-genericcloud-amd64.qcow2"
qemu_base_checksum = "file:https://cloud.debian.org/images/cloud/trixie/latest/SHA512SUMS"
