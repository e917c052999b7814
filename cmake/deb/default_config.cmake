# cmake -DVITALSD=<vitalsd> -DOUT=<file> -P default_config.cmake: /etc/vitals/vitalsd.yaml.
execute_process(COMMAND ${VITALSD} --print-default OUTPUT_VARIABLE cfg COMMAND_ERROR_IS_FATAL ANY)
file(WRITE ${OUT} "# /etc/vitals/vitalsd.yaml: the configuration of vitalsd.service (package vitals).
# As shipped, the same as vitalsd's built-in configuration (vitalsd --print-default).
# Edit, check with `vitalsd --check-config -c /etc/vitals/vitalsd.yaml`, then
# `systemctl reload vitalsd`. Reference: vitalsd --print-reference, /usr/share/doc/vitals/.
${cfg}")
