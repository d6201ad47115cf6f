os               = "debian12"
source_ami_name  = "debian-12-amd64-*"
source_ami_owner = "136693071363" # Debian
root_device_name = "/dev/xvda"
ssh_username     = "admin"
lxd_source_image = "images:debian/12/cloud"
