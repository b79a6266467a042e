#!/usr/bin/env bash
# `terraform fmt -check` (or OpenTofu's `tofu fmt -check`) over terraform/, as
# `tox -e lint` runs it. No package registry ships either binary (PyPI's
# terraform-binary is Terraform 0.11, which predates the HCL of these modules;
# npm's packages download the binary from HashiCorp at run time), so where
# neither is on PATH this says so and checks nothing; the GitHub CI workflow
# installs Terraform and runs it. The modules are rendered with their
# attributes aligned as `terraform fmt` aligns them (scripts/render_terraform.py).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

for tool in terraform tofu; do
    if command -v "$tool" >/dev/null; then
        echo "terraform_fmt: $tool fmt -check -recursive terraform/"
        exec "$tool" fmt -check -diff -recursive "$ROOT/terraform"
    fi
done
echo "terraform_fmt: SKIPPED: neither terraform nor tofu is on PATH, so terraform/ is not" \
    "checked with 'terraform fmt -check' here (the CI workflow installs Terraform and runs it)"
