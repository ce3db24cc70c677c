console.log("avatar-import");
