{#- Identity stitching (macro devices_stitched): every device ever logged in, with the customer
    it was first logged in as. A view over the (small) daily logins. -#}
{{ devices_stitched(ref('int_device_logins')) }}
